import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { fileURLToPath } from "node:url";
import { Backend, ConnectionError, defineTask, startWorker, type Worker, withJobStore } from "@taskport/core";
import { RabbitMQAdapter } from "@taskport/rabbitmq";
import { connect } from "amqplib";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { PostgresStore } from "../src/index.ts";
import { admin, DATABASE_URL, dropSchema, storeIn } from "./support.ts";

// The hard parts of a store beside a broker, end to end on RabbitMQ and PostgreSQL.
const AMQP_URL = process.env.TASKPORT_AMQP_URL ?? "amqp://guest:guest@127.0.0.1:5672";
const STUCK_WORKER = fileURLToPath(new URL("./fixtures/stuck-worker.ts", import.meta.url));

const schemas: string[] = [];
const queues: string[] = [];
const backends: Backend[] = [];
const workers: Worker[] = [];
const children: ChildProcess[] = [];

afterEach(async () => {
  for (const child of children.splice(0)) child.kill("SIGKILL");
  await Promise.allSettled(workers.splice(0).map((worker) => worker.close({ graceMs: 0 })));
  await Promise.allSettled(backends.splice(0).map((backend) => backend.close()));
});
afterAll(async () => {
  await Promise.allSettled(schemas.map(dropSchema));
  // Best effort: the broker is shared, and another suite may be restarting it right now.
  const model = await connect(AMQP_URL).catch(() => undefined);
  if (!model) return;
  const channel = await model.createChannel();
  for (const queue of queues) {
    await channel.deleteQueue(queue);
    await channel.deleteQueue(`${queue}.dead`);
  }
  await model.close();
});

function names(): { schema: string; queue: string } {
  const id = randomUUID().replaceAll("-", "").slice(0, 12);
  schemas.push(`tpe${id}`);
  queues.push(`tp-e2e-${id}`);
  return { schema: `tpe${id}`, queue: `tp-e2e-${id}` };
}

function backendOver(store: PostgresStore): Backend {
  const backend = new Backend("e2e", withJobStore(new RabbitMQAdapter({ url: AMQP_URL, connectionName: "tp-store-e2e" }), store));
  backends.push(backend);
  return backend;
}

/** Messages in a queue; 0 when it was never declared. */
async function messagesIn(queue: string): Promise<number> {
  const model = await connect(AMQP_URL);
  try {
    const channel = await model.createChannel();
    channel.on("error", () => {});
    return await channel.checkQueue(queue).then(
      (info) => info.messageCount,
      () => 0,
    );
  } finally {
    await model.close().catch(() => {});
  }
}

async function rowsIn(schema: string, id?: string): Promise<{ id: string; status: string }[]> {
  return admin(async (client) => {
    const exists = (await client.query("SELECT to_regclass($1) IS NOT NULL AS present", [`"${schema}".jobs`])).rows[0]?.present;
    if (!exists) return [];
    const where = id ? "WHERE id = $1" : "";
    return (await client.query(`SELECT id, status FROM "${schema}".jobs ${where}`, id ? [id] : [])).rows;
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("postgres-store beside RabbitMQ", () => {
  it("a store that is down at enqueue: a named error, no password, and nothing handed to the broker", async () => {
    const { queue } = names();
    const store = new PostgresStore({ url: "postgres://taskport:secret-password@127.0.0.1:1/test" });
    const task = defineTask("job", async () => {}, { queue }).using({ backend: backendOver(store) });
    const error = await task.enqueue(undefined).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectionError);
    expect((error as Error).message).toMatch(/^\[taskport\] \[postgres-store\] cannot reach PostgreSQL/);
    expect(JSON.stringify({ message: (error as Error).message, stack: (error as Error).stack })).not.toContain("secret-password");
    expect(await messagesIn(queue)).toBe(0);
  });

  it("a broker that is down at enqueue: a named error, and the job's record is forgotten", async () => {
    const { schema, queue } = names();
    const backend = new Backend("down", withJobStore(new RabbitMQAdapter({ url: "amqp://guest:guest@127.0.0.1:1" }), storeIn(schema)));
    backends.push(backend);
    const task = defineTask("job", async () => {}, { queue }).using({ backend });
    const error = await task.enqueue(undefined, { deduplicationKey: "k" }).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/^\[taskport\] \[rabbitmq\]/);
    expect(await rowsIn(schema)).toEqual([]);
  });

  it("a worker killed between running and settled: the job is delivered again and ends in one final status", async () => {
    const { schema, queue } = names();
    const storeUrl = new URL(DATABASE_URL);
    storeUrl.searchParams.set("schema", schema);
    const child = spawn(process.execPath, ["--conditions=@taskport/source", STUCK_WORKER], {
      env: { ...process.env, TEST_AMQP_URL: AMQP_URL, TEST_STORE_URL: storeUrl.href, TEST_QUEUE: queue },
      stdio: ["ignore", "pipe", "pipe"],
    });
    children.push(child);
    let output = "";
    child.stdout?.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr?.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    const printed = async (pattern: RegExp) => {
      const deadline = Date.now() + 30_000;
      while (!pattern.test(output)) {
        if (Date.now() > deadline || child.exitCode !== null) throw new Error(`no ${pattern} from the worker process:\n${output}`);
        await sleep(20);
      }
    };
    await printed(/^ready$/m);

    const runs: number[] = [];
    const backend = backendOver(storeIn(schema));
    const task = defineTask(
      "crashy",
      async (_: { n: number }, ctx) => {
        runs.push(ctx.attempt);
        return "after the crash";
      },
      { queue, retry: { maxAttempts: 3 } },
    ).using({ backend });
    const handle = await task.enqueue({ n: 1 });
    await printed(new RegExp(`^started ${handle.id} 1$`, "m"));
    expect((await handle.refresh()).status).toBe("running");
    child.kill("SIGKILL");
    await new Promise((resolve) => child.once("exit", resolve));

    workers.push(await startWorker({ tasks: [task], backend }));
    expect(await handle.wait({ timeoutMs: 20_000 })).toBe("after the crash");
    // The store counted the start that died: the redelivery is attempt 2, and it ran once here.
    expect(await handle.refresh()).toMatchObject({ status: "succeeded", attempt: 2, result: "after the crash" });
    await sleep(500);
    expect(runs).toEqual([2]);
    expect(await rowsIn(schema, handle.id)).toEqual([{ id: handle.id, status: "succeeded" }]);
    expect(await messagesIn(queue)).toBe(0);
  }, 60_000);

  it("cancels racing with starts: each job either never runs or ends cancelled, none runs twice, none is lost", async () => {
    const { schema, queue } = names();
    const backend = backendOver(storeIn(schema));
    const runs = new Map<string, number>();
    const task = defineTask(
      "racy",
      async (_: { n: number }, ctx) => {
        runs.set(ctx.jobId, (runs.get(ctx.jobId) ?? 0) + 1);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, 30);
          ctx.signal.addEventListener("abort", () => {
            clearTimeout(timer);
            resolve();
          });
        });
        ctx.signal.throwIfAborted();
        return "ran";
      },
      { queue, retry: { maxAttempts: 3 } },
    ).using({ backend });
    const handles = await task.enqueueMany(Array.from({ length: 40 }, (_, n) => ({ n })));
    workers.push(await startWorker({ tasks: [task], backend, concurrency: 8 }));
    const cancelled = await Promise.all(
      handles.map(async (handle, i) => {
        await sleep((i * 7) % 120);
        return handle.cancel();
      }),
    );
    const finals = await Promise.all(
      handles.map((handle) =>
        handle.wait({ timeoutMs: 20_000 }).then(
          () => "succeeded",
          () => "ended",
        ),
      ),
    );
    const statuses = await Promise.all(handles.map(async (handle) => (await handle.refresh()).status));
    for (const [i, handle] of handles.entries()) {
      const ran = runs.get(handle.id) ?? 0;
      expect(ran, `job ${i} runs`).toBeLessThanOrEqual(1);
      if (cancelled[i]) expect(statuses[i], `job ${i}, cancelled`).toBe("cancelled");
      else expect([statuses[i], ran, finals[i]], `job ${i}, finished before its cancel`).toEqual(["succeeded", 1, "succeeded"]);
      if (ran === 0) expect(statuses[i], `job ${i}, never ran`).toBe("cancelled");
    }
    // Both ways happened: the race was a race.
    expect(cancelled.some(Boolean)).toBe(true);
    expect([...runs.values()].length).toBeGreaterThan(0);
    await sleep(500);
    expect([...runs.values()].every((n) => n === 1)).toBe(true);
  }, 60_000);
});
