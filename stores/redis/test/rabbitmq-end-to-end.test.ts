/**
 * The hard parts of a store beside a broker, end to end on RabbitMQ with the Redis store: a store
 * that is down when a job is enqueued, a worker killed between "running" and "settled", racing
 * enqueues with one deduplication key, and cancels racing with starts.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { fileURLToPath } from "node:url";
import {
  Backend,
  ConnectionError,
  defineTask,
  type JobChange,
  JobFailedError,
  type JobHandle,
  redactUrl,
  startWorker,
  type Worker,
  withJobStore,
} from "@taskport/core";
import { RabbitMQAdapter } from "@taskport/rabbitmq";
import { connect } from "amqplib";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { RedisStore } from "../src/index.ts";
import { deletePrefix, REDIS_URL, redisRelay, testStore } from "./support.ts";

const AMQP_URL = process.env.TASKPORT_AMQP_URL ?? "amqp://guest:guest@127.0.0.1:5672";
const HANGING_WORKER = fileURLToPath(new URL("./fixtures/hanging-worker.ts", import.meta.url));

/** RabbitMQ is another package's server: without it this file is skipped, loudly, and fails under CI=true. */
const rabbitUp = await connect(AMQP_URL).then(
  (model) => model.close().then(() => true),
  () => false,
);
if (!rabbitUp) {
  const message = `[taskport] redis-store: RabbitMQ at ${redactUrl(AMQP_URL)} is not reachable, so the end-to-end tests cannot run.`;
  if (process.env.CI === "true") throw new Error(message);
  console.warn(`\n${"!".repeat(80)}\n${message}\n  SKIPPING them. Start it (see docker-compose.yml) to run them.\n${"!".repeat(80)}\n`);
}
const suite = describe.skipIf(!rabbitUp);

const queues: string[] = [];
const prefixes: string[] = [];
let backends: Backend[] = [];
let workers: Worker[] = [];

afterEach(async () => {
  await Promise.allSettled(workers.map((worker) => worker.close({ graceMs: 0 })));
  await Promise.allSettled(backends.map((backend) => backend.close()));
  workers = [];
  backends = [];
});

afterAll(async () => {
  await deleteQueues(queues);
  await Promise.allSettled(prefixes.map(deletePrefix));
});

/** A queue and a store prefix of the test's own. */
function names(): { queue: string; prefix: string } {
  const id = randomUUID().replaceAll("-", "").slice(0, 10);
  const names = { queue: `tp-e2e-${id}`, prefix: `tpe2e${id}` };
  queues.push(names.queue);
  prefixes.push(names.prefix);
  return names;
}

/** One process's backend: RabbitMQ with the store over `prefix` (or the store given). */
function backend(prefix: string, store: RedisStore = testStore(prefix)): Backend {
  const made = new Backend(`tp-e2e-${backends.length}`, withJobStore(new RabbitMQAdapter({ url: AMQP_URL }), store));
  backends.push(made);
  return made;
}

async function worker(...args: Parameters<typeof startWorker>): Promise<Worker> {
  const started = await startWorker(...args);
  workers.push(started);
  return started;
}

/** Messages RabbitMQ holds for `queue` (0 when it was never declared). */
async function messagesIn(queue: string): Promise<number> {
  const model = await connect(AMQP_URL);
  try {
    const channel = await model.createChannel();
    channel.on("error", () => {});
    return await channel.checkQueue(queue).then(
      (ok) => ok.messageCount,
      () => 0,
    );
  } finally {
    await model.close().catch(() => {});
  }
}

async function deleteQueues(names: readonly string[]): Promise<void> {
  if (names.length === 0) return;
  const model = await connect(AMQP_URL);
  try {
    const channel = await model.createChannel();
    for (const name of names) {
      await channel.deleteQueue(name);
      await channel.deleteQueue(`${name}.dead`);
    }
    await channel.close();
  } finally {
    await model.close().catch(() => {});
  }
}

suite("rabbitmq + redis-store: a store that is down at enqueue", () => {
  it("never reachable: a named error without the password, and nothing reaches the broker", async () => {
    const { queue } = names();
    const down = new RedisStore({ url: "redis://:secret-password@127.0.0.1:1/0", prefix: "tpdown" });
    const job = defineTask("job", async () => {}, { queue }).using({ backend: backend("tpdown", down) });
    for (const enqueue of [() => job.enqueue(undefined), () => job.enqueueMany([undefined, undefined])]) {
      const error = await enqueue().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConnectionError);
      expect((error as Error).message).toMatch(/^\[taskport\] \[redis-store\] cannot reach Redis at 127\.0\.0\.1:1\/0/);
      expect((error as Error).message).not.toContain("secret-password");
    }
    expect(await messagesIn(queue)).toBe(0);
  });

  it("gone after it was used: each enqueue fails within the store's deadline, and the broker keeps only the jobs enqueued before", async () => {
    const { queue, prefix } = names();
    const relay = await redisRelay();
    try {
      const store = new RedisStore({ url: relay.urlOf(REDIS_URL), prefix, commandTimeoutMs: 1_000 });
      const job = defineTask("job", async () => {}, { queue }).using({ backend: backend(prefix, store) });
      await job.enqueue(undefined);
      expect(await messagesIn(queue)).toBe(1);
      await relay.close();
      for (const enqueue of [() => job.enqueue(undefined), () => job.enqueueMany([undefined, undefined, undefined])]) {
        const started = Date.now();
        const error = await enqueue().catch((e: unknown) => e);
        expect(Date.now() - started).toBeLessThan(3_000);
        expect(error).toBeInstanceOf(ConnectionError);
        expect((error as Error).message).toMatch(/^\[taskport\] \[redis-store\]/);
      }
      expect(await messagesIn(queue)).toBe(1);
    } finally {
      await relay.close().catch(() => {});
    }
  });
});

suite("rabbitmq + redis-store: a worker killed between running and settled", () => {
  it("the redelivery runs it once more and it ends in one final status, attempt 2", async () => {
    const { queue, prefix } = names();
    const producer = backend(prefix);
    const hang = defineTask("hang", async () => "finished", { queue }).using({ backend: producer });
    const handle = await hang.enqueue(undefined);

    const finals: JobChange[] = [];
    const watcher = testStore(prefix);
    const stopWatching = await watcher.watch((change) => {
      if (change.id === handle.id && change.status !== "running") finals.push(change);
    });
    const child = spawnHangingWorker(queue, prefix);
    try {
      await child.output(new RegExp(`running ${handle.id} 1`));
      expect(await handle.refresh()).toMatchObject({ status: "running", attempt: 1 });
      child.process.kill("SIGKILL");
      await child.exited;

      const runs: number[] = [];
      const again = defineTask(
        "hang",
        async (_: null, ctx) => {
          runs.push(ctx.attempt);
          return "finished";
        },
        { queue },
      );
      await worker({ tasks: [again], backend: backend(prefix) });
      expect(await handle.wait({ timeoutMs: 15_000 })).toBe("finished");
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(runs).toEqual([2]);
      expect(await handle.refresh()).toMatchObject({ status: "succeeded", attempt: 2, result: "finished" });
      expect(finals.map((change) => change.status)).toEqual(["succeeded"]);
    } finally {
      child.process.kill("SIGKILL");
      await stopWatching();
      await watcher.close();
    }
  }, 60_000);
});

suite("rabbitmq + redis-store: racing", () => {
  it("enqueues with one key from five processes, singly and in batches, run one job; once it is done, the next race runs one more", async () => {
    const { queue, prefix } = names();
    const ran: number[] = [];
    const job = defineTask(
      "job",
      async (p: { n: number }) => {
        ran.push(p.n);
      },
      { queue },
    );
    const processes = Array.from({ length: 5 }, () => job.using({ backend: backend(prefix) }));
    const race = async (round: number): Promise<JobHandle<void>[]> => {
      const calls = processes.flatMap((task, k) => [
        ...Array.from({ length: 4 }, (_, i) => task.enqueue({ n: round * 100 + k * 10 + i }, { deduplicationKey: "one" }).then((h) => [h])),
        task.enqueueMany([{ n: round * 100 + k * 10 + 7 }, { n: round * 100 + k * 10 + 8 }], { deduplicationKey: "one" }),
      ]);
      return (await Promise.all(calls)).flat();
    };

    const first = await race(1);
    const kept = first.filter((handle) => !handle.deduplicated);
    expect(kept).toHaveLength(1);
    expect(new Set(first.map((handle) => handle.id))).toEqual(new Set([kept[0]?.id]));
    await worker({ tasks: [job], backend: backend(prefix), concurrency: 10 });
    await kept[0]?.wait({ timeoutMs: 10_000 });

    const second = await race(2);
    const keptAgain = second.filter((handle) => !handle.deduplicated);
    expect(keptAgain).toHaveLength(1);
    await keptAgain[0]?.wait({ timeoutMs: 10_000 });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(ran).toHaveLength(2);
    expect(await messagesIn(queue)).toBe(0);
  }, 60_000);

  it("a cancel racing with the start ends each job one way: cancelled (never run, or aborted) or, when cancel says false, succeeded", async () => {
    const { queue, prefix } = names();
    const starts = new Map<string, number>();
    const aborted = new Set<string>();
    const job = defineTask(
      "job",
      async (_: null, ctx) => {
        starts.set(ctx.jobId, (starts.get(ctx.jobId) ?? 0) + 1);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, 150);
          ctx.signal.addEventListener("abort", () => {
            clearTimeout(timer);
            aborted.add(ctx.jobId);
            resolve();
          });
        });
        ctx.signal.throwIfAborted();
        return "done";
      },
      { queue, retry: { maxAttempts: 3 } },
    );
    const producer = job.using({ backend: backend(prefix) });
    await worker({ tasks: [job], backend: backend(prefix), concurrency: 10 });

    const outcomes = await Promise.all(
      Array.from({ length: 30 }, async (_, i) => {
        const handle = await producer.enqueue(null);
        // From before its delivery to the middle of its run.
        await new Promise((resolve) => setTimeout(resolve, i % 10));
        const cancelled = await handle.cancel();
        const waited = await handle.wait({ timeoutMs: 10_000 }).catch((error: unknown) => error);
        return { id: handle.id, cancelled, waited, status: (await handle.refresh()).status };
      }),
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    for (const outcome of outcomes) {
      expect(outcome.status, `job ${outcome.id}`).toBe(outcome.cancelled ? "cancelled" : "succeeded");
      if (outcome.cancelled) expect(outcome.waited).toBeInstanceOf(JobFailedError);
      else expect(outcome.waited).toBe("done");
      expect(starts.get(outcome.id) ?? 0).toBeLessThanOrEqual(1);
      if (!outcome.cancelled) expect(starts.get(outcome.id)).toBe(1);
    }
    // Both sides of the race were met: some jobs never started, some were aborted while running.
    expect(outcomes.some((o) => o.cancelled && !starts.has(o.id))).toBe(true);
    expect(outcomes.some((o) => aborted.has(o.id))).toBe(true);
    expect(await messagesIn(queue)).toBe(0);
  }, 60_000);
});

/** The fixture worker in a child process, with its output. */
function spawnHangingWorker(queue: string, prefix: string) {
  const child: ChildProcess = spawn(process.execPath, ["--conditions=@taskport/source", HANGING_WORKER, queue, prefix], {
    env: { ...process.env, TASKPORT_REDIS_URL: REDIS_URL, TASKPORT_AMQP_URL: AMQP_URL },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()));
  return {
    process: child,
    exited,
    async output(pattern: RegExp, timeoutMs = 20_000): Promise<void> {
      const deadline = Date.now() + timeoutMs;
      while (!pattern.test(output)) {
        if (Date.now() > deadline || child.exitCode !== null) throw new Error(`no ${pattern} from the worker process:\n${output}`);
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    },
  };
}
