import { randomBytes } from "node:crypto";
import { Backend, ConnectionError, defineTask, SerializationError, startWorker, type Worker } from "@taskport/core";
import Queue from "bee-queue";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import type { BeeQueueAdapter, BeeQueueAdapterOptions, JobData } from "../src/index.ts";
import { REDIS_HOST, REDIS_PORT, redisCommand, TEST_PREFIX, testAdapter } from "./support.ts";

// Adapter-specific behaviour under the conformance prefix: queue names are unique per test.
const RUN = randomBytes(3).toString("hex");
let counter = 0;
const opened: { close(): Promise<unknown> }[] = [];
const queues: string[] = [];

function names(): { id: string; queue: string } {
  const id = `tpx${RUN}${++counter}`;
  const queue = `${id}-main`;
  queues.push(queue);
  return { id, queue };
}

function adapter(id: string, options: BeeQueueAdapterOptions = {}): BeeQueueAdapter {
  const a = testAdapter(id, options);
  opened.push(a);
  return a;
}

async function worker(options: Parameters<typeof startWorker>[0]): Promise<Worker> {
  const w = await startWorker(options);
  opened.push({ close: () => w.close({ graceMs: 0 }) });
  return w;
}

/** A plain bee-queue, as an application without taskport would open one on the same keys. */
function plainQueue(queue: string, settings: Queue.QueueSettings = {}): Queue {
  const q = new Queue(queue, { prefix: TEST_PREFIX, redis: { host: REDIS_HOST, port: REDIS_PORT }, ...settings });
  q.on("error", () => {});
  opened.push({ close: () => q.close() });
  return q;
}

async function until(condition: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const key = (queue: string, name: string) => `${TEST_PREFIX}:${queue}:${name}`;

afterEach(async () => {
  for (const item of opened.splice(0).reverse()) await item.close().catch(() => {});
});

afterAll(async () => {
  const janitor = testAdapter("tpx-janitor");
  for (const queue of queues) await janitor.destroyQueue(queue);
  await janitor.close();
});

describe("bee-queue adapter: bad input and check()", () => {
  it("a wrong password: check() explains, enqueue fails with ConnectionError, nothing is enqueued, no password anywhere", async () => {
    const { id, queue } = names();
    // Redis answers AUTH for a user that does not exist with WRONGPASS, as for a wrong password.
    const a = adapter(id, { redis: { host: REDIS_HOST, port: REDIS_PORT, user: `tp-nobody-${RUN}`, password: "hunter2pw" } });
    const problems = await a.check();
    expect(problems).toHaveLength(1);
    expect(problems[0]?.message).toMatch(/^\[taskport\] \[bee-queue\] Redis at .* refused the login/);
    expect(problems[0]?.message).not.toContain("hunter2pw");
    const job = defineTask("job", async () => {}, { queue }).using({ backend: new Backend("bad", a) });
    const error = await job.enqueue(undefined).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectionError);
    expect((error as Error).message).toContain("user and password");
    expect((error as Error).message).not.toContain("hunter2pw");
    expect(await redisCommand("exists", key(queue, "jobs"), key(queue, "waiting"))).toBe(0);
  });

  it("an unreachable Redis: check() names the address, without a stack trace", async () => {
    const { id } = names();
    const a = adapter(id, { redis: { host: "127.0.0.1", port: 1 } });
    const [problem] = await a.check();
    expect(problem?.message).toMatch(/cannot reach Redis at 127\.0\.0\.1:1\/0/);
    expect(problem?.message).not.toMatch(/^\s+at /m);
  });

  it("a payload that is not JSON is refused with SerializationError and nothing reaches Redis", async () => {
    const { id, queue } = names();
    const job = defineTask("job", async (_: unknown) => {}, { queue }).using({ backend: new Backend(id, adapter(id)) });
    await expect(job.enqueue({ at: new Date() })).rejects.toBeInstanceOf(SerializationError);
    await expect(job.enqueueMany([{ ok: 1 }, { n: 10n }])).rejects.toBeInstanceOf(SerializationError);
    expect(await redisCommand("exists", key(queue, "jobs"), key(queue, "waiting"))).toBe(0);
  });
});

describe("bee-queue adapter: the stored format and plain bee-queue", () => {
  it("stores bee-queue's own record, without copies in this process, and a plain bee-queue worker can run it", async () => {
    const { id, queue } = names();
    const a = adapter(id);
    const job = defineTask("greet", async (_: { name: string }) => {}, { queue }).using({ backend: new Backend(id, a) });
    const handle = await job.enqueue({ name: "Ada" }, { attempts: 3 });
    const record = JSON.parse(await redisCommand<string>("hget", key(queue, "jobs"), handle.id)) as {
      data: JobData;
      options: { retries: number };
      status: string;
    };
    expect(record.status).toBe("created");
    expect(record.options.retries).toBe(2);
    expect(record.data).toMatchObject({ tp: 1, task: "greet", payload: { name: "Ada" }, maxAttempts: 3 });
    const seen: unknown[] = [];
    const plain = plainQueue(queue, { getEvents: false, sendEvents: false });
    plain.process(async (beeJob: Queue.Job<JobData>) => {
      seen.push(beeJob.data.payload);
      return null;
    });
    await until(() => seen.length === 1, 10_000, "the plain worker");
    expect(seen).toEqual([{ name: "Ada" }]);
  });

  it("a job written by a plain bee-queue producer in taskport's shape runs on a taskport worker", async () => {
    const { id, queue } = names();
    const a = adapter(id);
    const seen: unknown[] = [];
    const job = defineTask("greet", async (p: { name: string }, ctx) => void seen.push({ p, attempt: ctx.attempt }), { queue });
    await worker({ tasks: [job], backend: new Backend(id, a) });
    const plain = plainQueue(queue, { isWorker: false, getEvents: false });
    const data: JobData = { tp: 1, task: "greet", payload: { name: "Grace" }, maxAttempts: 1, enqueuedAt: Date.now() };
    await plain.createJob(data).save();
    await until(() => seen.length === 1, 10_000, "the taskport worker");
    expect(seen).toEqual([{ p: { name: "Grace" }, attempt: 1 }]);
  });

  it("a job that is not taskport's fails visibly and is kept in bee-queue's failed set", async () => {
    const { id, queue } = names();
    const a = adapter(id);
    const job = defineTask("known", async () => {}, { queue });
    const w = await worker({ tasks: [job], backend: new Backend(id, a) });
    const failed: string[] = [];
    w.on("failed", (e) => failed.push(e.error.name));
    const plain = plainQueue(queue, { isWorker: false, getEvents: false });
    const stranger = await plain.createJob({ hello: "world" }).save();
    await until(() => failed.length === 1, 10_000, "the failed event");
    expect(failed).toEqual(["UnknownTaskError"]);
    await until(async () => (await redisCommand("sismember", key(queue, "failed"), stranger.id)) === 1, 5_000, "the failed set");
    expect(await a.getJob(stranger.id, queue)).toBeNull();
  });

  it("keepSucceeded: false deletes a job as it succeeds and declares no results", async () => {
    const { id, queue } = names();
    const a = adapter(id, { keepSucceeded: false });
    expect(a.capabilities.results).toBe(false);
    const done: number[] = [];
    const job = defineTask("job", async (p: { i: number }) => void done.push(p.i), { queue }).using({ backend: new Backend(id, a) });
    await worker({ tasks: [job], backend: new Backend(`${id}-w`, a) });
    await job.enqueueMany([{ i: 1 }, { i: 2 }, { i: 3 }]);
    await until(() => done.length === 3, 10_000, "the jobs");
    await until(async () => (await redisCommand("hlen", key(queue, "jobs"))) === 0, 5_000, "the records to go");
    expect(await redisCommand("exists", key(queue, "succeeded"))).toBe(0);
  });

  it("keeps a succeeded job's result and attempt in its record", async () => {
    const { id, queue } = names();
    const a = adapter(id);
    const job = defineTask(
      "job",
      async (_: unknown, ctx) => {
        if (ctx.attempt === 1) throw new Error("first");
        return { ok: true };
      },
      { queue, retry: { maxAttempts: 2, delayMs: 50, jitter: 0 } },
    ).using({ backend: new Backend(id, a) });
    await worker({ tasks: [job], backend: new Backend(`${id}-w`, a) });
    const handle = await job.enqueue(undefined);
    expect(await handle.wait({ timeoutMs: 10_000 })).toEqual({ ok: true });
    const info = await handle.refresh();
    expect(info).toMatchObject({ status: "succeeded", attempt: 2, maxAttempts: 2, result: { ok: true } });
    expect(info.finishedAt).toBeGreaterThan(0);
  });
});

describe("bee-queue adapter: several queues share one concurrency", () => {
  it("never runs more than `concurrency` handlers, and a job waiting for a slot at shutdown goes straight back", async () => {
    const { id, queue } = names();
    const other = `${id}-other`;
    queues.push(other);
    const a = adapter(id);
    const backend = new Backend(id, a);
    let active = 0;
    let peak = 0;
    let release: () => void = () => {};
    const hold = new Promise<void>((resolve) => {
      release = resolve;
    });
    const started: string[] = [];
    const job = defineTask(
      "job",
      async (p: { tag: string }, ctx) => {
        active++;
        peak = Math.max(peak, active);
        started.push(`${p.tag}:${ctx.attempt}`);
        await hold;
        active--;
      },
      { queue },
    ).using({ backend });
    await job.enqueue({ tag: "a" });
    await job.using({ queue: other }).enqueue({ tag: "b" });
    const w = await worker({ tasks: [job], queues: [queue, other], concurrency: 1, backend });
    await until(() => started.length === 1, 10_000, "one job to start");
    // bee-queue has fetched the other queue's job too; it waits for the slot.
    const parkedQueue = started[0]?.startsWith("a") ? other : queue;
    await until(async () => (await redisCommand("llen", key(parkedQueue, "active"))) === 1, 5_000, "the parked job");
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(peak).toBe(1);
    const closing = w.close({ graceMs: 10_000 });
    await until(async () => (await redisCommand("llen", key(parkedQueue, "waiting"))) === 1, 5_000, "the parked job to go back");
    expect(await redisCommand("llen", key(parkedQueue, "active"))).toBe(0);
    release();
    await closing;
    expect(started).toHaveLength(1);
    const next = await worker({ tasks: [job], queues: [queue, other], concurrency: 1, backend: new Backend(`${id}-2`, a) });
    await until(() => started.length === 2, 10_000, "the handed-back job");
    // Handing back is not an attempt.
    expect(started[1]).toMatch(/:1$/);
    await next.close();
  });
});

describe("bee-queue adapter: retention", () => {
  it("workers delete finished jobs past the backend's retention from Redis, succeeded and failed each by its own", async () => {
    const { id, queue } = names();
    const a = adapter(id, { sweepIntervalMs: 200 });
    const backend = new Backend(id, { adapter: a, retention: { succeededMs: 300, failedMs: 60_000 } });
    const task = defineTask(
      "kept",
      async (p: { fail: boolean }) => {
        if (p.fail) throw new Error("fails for good");
      },
      { queue },
    ).using({ backend });
    // Two workers over one adapter each: the sweep is shared, whoever asks first in an interval.
    await worker({ tasks: [task], backend });
    await worker({
      tasks: [task],
      backend: new Backend(`${id}-2`, {
        adapter: adapter(`${id}-2`, { sweepIntervalMs: 200 }),
        retention: { succeededMs: 300, failedMs: 60_000 },
      }),
    });
    const ok = await Promise.all(Array.from({ length: 30 }, () => task.enqueue({ fail: false })));
    const bad = await task.enqueue({ fail: true });
    await Promise.all(ok.map((h) => h.wait({ timeoutMs: 10_000 })));
    await expect(bad.wait({ timeoutMs: 10_000 })).rejects.toThrow("fails for good");
    const record = async (jobId: string) => redisCommand<string | null>("hget", `${TEST_PREFIX}:${queue}:jobs`, jobId);
    expect(JSON.parse((await record(bad.id)) as string).data.expiresAt).toBeGreaterThan(Date.now() + 50_000);
    await expect.poll(() => redisCommand<number>("scard", `${TEST_PREFIX}:${queue}:succeeded`), { timeout: 5_000, interval: 100 }).toBe(0);
    for (const h of ok) expect(await record(h.id)).toBeNull();
    expect(await redisCommand<number>("sismember", `${TEST_PREFIX}:${queue}:failed`, bad.id)).toBe(1);
    expect((await backend.getJob(bad.id, queue))?.status).toBe("failed");
  });

  it("a cancelled job is kept for the retention of failed jobs, then reads as gone and is deleted", async () => {
    const { id, queue } = names();
    const a = adapter(id, { sweepIntervalMs: 200 });
    const backend = new Backend(id, { adapter: a, retention: { succeededMs: 60_000, failedMs: 500 } });
    const task = defineTask("later", async () => {}, { queue }).using({ backend });
    await worker({ tasks: [task], backend });
    const handle = await task.enqueue(undefined, { delayMs: 60_000 });
    expect(await handle.cancel()).toBe(true);
    expect((await backend.getJob(handle.id, queue))?.status).toBe("cancelled");
    await expect
      .poll(() => redisCommand<string | null>("hget", `${TEST_PREFIX}:${queue}:jobs`, handle.id), { timeout: 5_000, interval: 100 })
      .toBeNull();
    expect(await backend.getJob(handle.id, queue)).toBeNull();
    expect(await redisCommand<number>("scard", `${TEST_PREFIX}:${queue}:cancelled`)).toBe(0);
    expect(await redisCommand<number>("zcard", `${TEST_PREFIX}:${queue}:cancelledExpiry`)).toBe(0);
  });
});
