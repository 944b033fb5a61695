/**
 * The consumer app: installed from the packed tarballs into a project outside the repository, it
 * runs one job on the engine named by its argument (`memory`, or `bullmq` on the Redis server at
 * TASKPORT_REDIS_HOST:TASKPORT_REDIS_PORT) and exits non-zero on anything unexpected.
 */
import { strict as assert } from "node:assert";
import { BullMQAdapter } from "@taskport/bullmq";
import {
  type Backend,
  type BackendSpec,
  ConfigurationError,
  closeBackends,
  configure,
  getBackend,
  startWorker,
  TaskportError,
} from "@taskport/core";
import { Redis } from "ioredis";
import { everyAdapter } from "./adapters.js";
import { add, ping } from "./tasks.js";

const engine = process.argv[2];

async function main(): Promise<void> {
  const all = everyAdapter();
  assert.deepEqual(
    all.adapters.map((adapter) => adapter.name),
    ["bullmq", "bee-queue", "pg-boss", "rabbitmq", "sqs", "nats"],
  );
  await all.close();
  assertOneCore();

  if (engine === "memory") {
    configure({ backends: { default: "memory://" } });
    await runOneJob(getBackend());
  } else if (engine === "bullmq") {
    const host = process.env.TASKPORT_REDIS_HOST ?? "127.0.0.1";
    const port = Number(process.env.TASKPORT_REDIS_PORT ?? 6379);
    const prefix = `tpconsumer${process.pid}`;
    // The app's own client, as the adapter's `connection`; and the URL form, which core resolves by
    // importing @taskport/bullmq from where it is installed.
    const redis = new Redis({ host, port });
    const backends: Record<string, BackendSpec> = {
      default: new BullMQAdapter({ connection: redis, prefix }),
      byUrl: `bullmq://${host}:${port}/0?prefix=${prefix}`,
    };
    configure({ backends });
    try {
      await runOneJob(getBackend("default"));
      await runOneJob(getBackend("byUrl"));
    } finally {
      const keys = await redis.keys(`${prefix}:*`);
      if (keys.length > 0) await redis.del(...keys);
      await closeBackends();
      redis.disconnect();
    }
  } else {
    throw new Error(`usage: node dist/main.js memory|bullmq (got ${engine})`);
  }
  await closeBackends();
  console.log(`consumer app: ${engine} ok on Node ${process.version}`);
}

/** An adapter's error is an instance of the app's TaskportError: there is one copy of core. */
function assertOneCore(): void {
  assert.throws(
    () => new BullMQAdapter({ prefix: "not a prefix" }),
    (error: unknown) => error instanceof ConfigurationError && error instanceof TaskportError && error.name === "ConfigurationError",
  );
}

async function runOneJob(backend: Backend): Promise<void> {
  const worker = await startWorker({ tasks: [add, ping], backend, concurrency: 2 });
  try {
    const job = await add.using({ backend }).enqueue({ a: 2, b: 3 });
    const result: { sum: number } = await job.wait({ timeoutMs: 15_000 });
    assert.equal(result.sum, 5);
    assert.equal(await (await ping.using({ backend }).enqueue()).wait({ timeoutMs: 15_000 }), "pong");
  } finally {
    await worker.close();
  }
}

await main();
