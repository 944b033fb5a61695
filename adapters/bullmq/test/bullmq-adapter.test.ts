import { randomBytes } from "node:crypto";
import {
  Backend,
  ConnectionError,
  defineTask,
  SerializationError,
  startWorker,
  TaskportError,
  UnsupportedFeatureError,
  type Worker,
} from "@taskport/core";
import { Queue, QueueEvents } from "bullmq";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import type { BullMQAdapter, BullMQAdapterOptions } from "../src/index.ts";
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

function adapter(id: string, options: BullMQAdapterOptions = {}): BullMQAdapter {
  const a = testAdapter(id, options);
  opened.push(a);
  return a;
}

async function worker(options: Parameters<typeof startWorker>[0]): Promise<Worker> {
  const w = await startWorker(options);
  opened.push({ close: () => w.close({ graceMs: 0 }) });
  return w;
}

/** A plain BullMQ queue, as an application without taskport would open one. */
function plainQueue(queue: string): Queue {
  const q = new Queue(queue, { prefix: TEST_PREFIX, connection: { host: REDIS_HOST, port: REDIS_PORT } });
  q.on("error", () => {});
  opened.push(q);
  return q;
}

async function until(condition: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const keysOf = async (queue: string) => redisCommand<string[]>("keys", `${TEST_PREFIX}:${queue}:*`);

afterEach(async () => {
  for (const item of opened.splice(0).reverse()) await item.close().catch(() => {});
});

afterAll(async () => {
  const janitor = testAdapter("tpx-janitor");
  for (const queue of queues) await janitor.destroyQueue(queue);
  await janitor.close();
});

describe("bullmq adapter: bad input and check()", () => {
  it("a wrong password: check() explains, enqueue fails with ConnectionError, nothing is enqueued, no password anywhere", async () => {
    const { id, queue } = names();
    const user = `tp-bullmq-${RUN}`;
    // A user of our own, so the password is really checked (the shared server has no default password).
    await redisCommand("acl", "setuser", user, "on", ">right-password", "~*", "&*", "+@all");
    try {
      const a = adapter(id, { redis: { host: REDIS_HOST, port: REDIS_PORT, username: user, password: "hunter2pw" } });
      const problems = await a.check();
      expect(problems).toHaveLength(1);
      expect(problems[0]?.message).toMatch(/^\[taskport\] \[bullmq\] Redis at .* refused the credentials/);
      expect(problems[0]?.message).not.toContain("hunter2pw");
      const job = defineTask("job", async () => {}, { queue }).using({ backend: new Backend("bad", a) });
      const error = await job.enqueue(undefined).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConnectionError);
      expect((error as Error).message).toContain("user and password");
      expect((error as Error).message).not.toContain("hunter2pw");
      expect(await keysOf(queue)).toEqual([]);
    } finally {
      await redisCommand("acl", "deluser", user);
    }
  });

  it("an unreachable Redis: check() names the address", async () => {
    const { id } = names();
    const a = adapter(id, { redis: { host: "127.0.0.1", port: 1, retryStrategy: () => null } });
    const problems = await a.check();
    expect(problems).toHaveLength(1);
    expect(problems[0]?.message).toMatch(/^\[taskport\] \[bullmq\] cannot reach Redis at 127\.0\.0\.1:1\/0 .*reachable/);
  });

  it("this server passes check() (its maxmemory-policy is noeviction)", async () => {
    const { id } = names();
    expect(await adapter(id).check()).toEqual([]);
  });

  it("a payload that is not JSON is a SerializationError and nothing is enqueued", async () => {
    const { id, queue } = names();
    const job = defineTask("job", async (_p: unknown) => {}, { queue }).using({ backend: new Backend(id, adapter(id)) });
    await expect(job.enqueue({ when: new Date() } as never)).rejects.toBeInstanceOf(SerializationError);
    await expect(job.enqueue({ n: 1n } as never)).rejects.toBeInstanceOf(SerializationError);
    expect(await keysOf(queue)).toEqual([]);
  });

  it("a job id BullMQ would reject (':' in it) is refused before anything is stored", async () => {
    // Core chooses UUIDs and rejects ':' in queue names itself; this guards the adapter's own path.
    const { id, queue } = names();
    const a = adapter(id);
    const error = await a
      .enqueue(
        [{ id: "a:b", name: "job", queue, payload: null, payloadJson: "null", priority: 0, maxAttempts: 1, enqueuedAt: Date.now() }],
        {},
      )
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TaskportError);
    expect((error as Error).message).toMatch(/^\[taskport\] \[bullmq\] .*cannot contain :/);
    // Opening the Queue writes BullMQ's `meta` key; no job key exists.
    expect((await keysOf(queue)).filter((key) => !key.endsWith(":meta"))).toEqual([]);
  });
});

describe("bullmq adapter: interop with plain BullMQ", () => {
  it("a taskport job is an ordinary BullMQ job: Queue.getJob reads it and QueueEvents reports its completion", async () => {
    const { id, queue } = names();
    const backend = new Backend(id, adapter(id));
    const job = defineTask("greet", async (p: { who: string }) => ({ hello: p.who }), { queue });
    const events = new QueueEvents(queue, { prefix: TEST_PREFIX, connection: { host: REDIS_HOST, port: REDIS_PORT } });
    opened.push(events);
    await events.waitUntilReady();
    const completed: { jobId: string; returnvalue: unknown }[] = [];
    events.on("completed", (e) => completed.push(e as never));
    const handle = await job.using({ backend }).enqueue({ who: "ada" }, { priority: 10 });
    const plain = await plainQueue(queue).getJob(handle.id);
    expect(plain?.name).toBe("greet");
    expect(plain?.data).toEqual({ tp: 1, payload: { who: "ada" } });
    expect(plain?.opts.priority).toBe(91);
    await worker({ tasks: [job], backend, concurrency: 1 });
    await until(() => completed.length === 1, 10_000, "QueueEvents to see the completion");
    expect(completed[0]?.jobId).toBe(handle.id);
    expect(completed[0]?.returnvalue).toEqual({ hello: "ada" });
  });

  it("a job added by plain BullMQ with the task's name and JSON data is run by a taskport worker", async () => {
    const { id, queue } = names();
    const backend = new Backend(id, adapter(id));
    const runs: unknown[] = [];
    const job = defineTask(
      "greet",
      async (p: { who: string }, ctx) => {
        runs.push({ payload: p, attempt: ctx.attempt });
        return { hello: p.who };
      },
      { queue },
    );
    const added = await plainQueue(queue).add("greet", { who: "grace" });
    await worker({ tasks: [job], backend, concurrency: 1 });
    await until(() => runs.length === 1, 10_000, "the plain job to run");
    expect(runs[0]).toEqual({ payload: { who: "grace" }, attempt: 1 });
    await until(async () => (await plainQueue(queue).getJobState(added.id as string)) === "completed", 5_000, "completion");
    expect((await plainQueue(queue).getJob(added.id as string))?.returnvalue).toEqual({ hello: "grace" });
  });
});

describe("bullmq adapter: priorities: false", () => {
  it("jobs go to BullMQ's plain wait list, in order, and a priority is refused with nothing stored", async () => {
    const { id, queue } = names();
    const plainList = adapter(id, { priorities: false });
    expect(plainList.capabilities.priority).toBe(false);
    const backend = new Backend(id, plainList);
    const runs: number[] = [];
    const job = defineTask("step", async (p: { n: number }) => void runs.push(p.n), { queue }).using({ backend });
    const error = await job.enqueue({ n: 0 }, { priority: 10 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnsupportedFeatureError);
    expect((error as Error).message).toMatch(/priority/);
    expect((await keysOf(queue)).filter((key) => !key.endsWith(":meta"))).toEqual([]);
    const handles = await job.enqueueMany([{ n: 1 }, { n: 2 }, { n: 3 }]);
    const plain = plainQueue(queue);
    expect(await plain.getJobState(handles[0]?.id as string)).toBe("waiting");
    expect((await plain.getJob(handles[0]?.id as string))?.opts.priority ?? 0).toBe(0);
    await worker({ tasks: [job], backend, concurrency: 1 });
    await until(() => runs.length === 3, 10_000, "the three jobs to run");
    expect(runs).toEqual([1, 2, 3]);
  });

  it("by default every job is prioritized, so that higher priorities overtake it", async () => {
    const { id, queue } = names();
    const handle = await defineTask("step", async () => {}, { queue })
      .using({ backend: new Backend(id, adapter(id)) })
      .enqueue(undefined);
    expect(await plainQueue(queue).getJobState(handle.id)).toBe("prioritized");
  });
});

describe("bullmq adapter: retries through BullMQ", () => {
  it("a failed attempt is retried by BullMQ after the delay core computed", async () => {
    const { id, queue } = names();
    const backend = new Backend(id, adapter(id));
    const starts: number[] = [];
    const job = defineTask(
      "flaky",
      async () => {
        starts.push(Date.now());
        if (starts.length < 3) throw new Error("not yet");
        return "ok";
      },
      { queue, retry: { maxAttempts: 3, backoff: "fixed", delayMs: 300, jitter: 0 } },
    );
    const handle = await job.using({ backend }).enqueue(undefined);
    await worker({ tasks: [job], backend, concurrency: 1 });
    expect(await handle.wait({ timeoutMs: 10_000 })).toBe("ok");
    expect(starts).toHaveLength(3);
    expect((starts[1] as number) - (starts[0] as number)).toBeGreaterThanOrEqual(290);
    // BullMQ itself held the job in its delayed set with our backoff type between attempts.
    const plain = await plainQueue(queue).getJob(handle.id);
    expect(plain?.opts.backoff).toEqual({ type: "taskport" });
    expect(plain?.attemptsMade).toBe(3);
  });
});

describe("bullmq adapter: at-least-once", () => {
  it("a job whose worker is abandoned mid-job comes back through BullMQ's stalled check, its attempt counted", async () => {
    const { id, queue } = names();
    const backend = new Backend(id, adapter(id));
    const runs: { worker: string; attempt: number }[] = [];
    let hold: (() => void) | undefined;
    const make = (name: string) =>
      defineTask(
        "work",
        async (_: null, ctx) => {
          runs.push({ worker: name, attempt: ctx.attempt });
          if (name === "doomed") await new Promise<void>((resolve) => (hold = resolve));
          return "done";
        },
        { queue },
      );
    const handle = await make("doomed").using({ backend }).enqueue(null);
    const doomed = await worker({ tasks: [make("doomed")], backend, concurrency: 1 });
    await until(() => runs.length === 1, 10_000, "the first delivery");
    await doomed.consumer?.abandon();
    hold?.();
    await worker({ tasks: [make("survivor")], backend: new Backend(`${id}-2`, adapter(`${id}-2`)), concurrency: 1 });
    expect(await handle.wait({ timeoutMs: 30_000 })).toBe("done");
    expect(runs).toEqual([
      { worker: "doomed", attempt: 1 },
      { worker: "survivor", attempt: 2 },
    ]);
    // The doomed worker settled nothing after it was abandoned.
    expect((await plainQueue(queue).getJob(handle.id))?.attemptsStarted).toBe(2);
  }, 40_000);
});

describe("bullmq adapter: graceful shutdown over several queues", () => {
  it("a job fetched while every shared slot was busy goes back to wait at close(), unrun", async () => {
    const { id, queue } = names();
    const other = `${queue}-b`;
    queues.push(other);
    const backend = new Backend(id, adapter(id));
    const ran: string[] = [];
    let release: (() => void) | undefined;
    const slow = defineTask(
      "slow",
      async () => {
        ran.push("slow");
        await new Promise<void>((resolve) => (release = resolve));
      },
      { queue },
    );
    const quick = defineTask(
      "quick",
      async () => {
        ran.push("quick");
      },
      { queue: other },
    );
    const w = await worker({ tasks: [slow, quick], backend, concurrency: 1 });
    await slow.using({ backend }).enqueue(undefined);
    await until(() => ran.length === 1, 10_000, "the slow job to start");
    const waiting = await quick.using({ backend }).enqueue(undefined);
    // BullMQ's worker for the other queue fetches the job and holds it for the one shared slot.
    await until(async () => (await plainQueue(other).getJobState(waiting.id)) === "active", 10_000, "the quick job to be fetched");
    const closing = w.close({ graceMs: 10_000 });
    await new Promise((resolve) => setTimeout(resolve, 100));
    release?.();
    await closing;
    expect(ran).toEqual(["slow"]);
    const state = await plainQueue(other).getJobState(waiting.id);
    expect(["waiting", "prioritized"]).toContain(state);
  });
});

describe("bullmq adapter: inspection", () => {
  it("stats() without names finds the queue by its meta key; cancelled jobs are counted and listed; a foreign cursor is refused", async () => {
    const { id, queue } = names();
    const a = adapter(id);
    const job = defineTask("job", async (_p: { n: number }) => {}, { queue }).using({ backend: new Backend(id, a) });
    const kept = await job.enqueue({ n: 1 });
    const dropped = await job.enqueue({ n: 2 });
    expect(await a.cancel(dropped.id, queue)).toBe(true);
    const all = await a.stats();
    expect(all.find((s) => s.queue === queue)).toMatchObject({ counts: { queued: 1, cancelled: 1 }, paused: false });
    const page = await a.listJobs(queue, { limit: 10 });
    expect(page.jobs.map((j) => [j.id, j.status])).toEqual([
      [dropped.id, "cancelled"],
      [kept.id, "queued"],
    ]);
    expect((await a.listJobs(queue, { status: "cancelled", limit: 10 })).jobs.map((j) => j.id)).toEqual([dropped.id]);
    await expect(a.listJobs(queue, { limit: 1, cursor: "elsewhere" })).rejects.toThrow(/cursor "elsewhere" was not returned/);
  });

  it("redrive counts only failed jobs and clears the stall count, so the attempts start over", async () => {
    const { id, queue } = names();
    const a = adapter(id);
    const backend = new Backend(id, a);
    let healed = false;
    const attempts: number[] = [];
    const job = defineTask(
      "flaky",
      async (_p: unknown, ctx) => {
        attempts.push(ctx.attempt);
        if (!healed) throw new Error("broken");
      },
      { queue },
    ).using({ backend });
    const doomed = await job.enqueue(undefined);
    await worker({ tasks: [job], backend, concurrency: 1 });
    await until(async () => (await a.listDeadLetters(queue, 10)).length === 1, 10_000, "the job to fail");
    // As if a worker had died holding it twice before it failed.
    await redisCommand("hset", `${TEST_PREFIX}:${queue}:${doomed.id}`, "stc", "2");
    const waiting = await job.enqueue(undefined, { delayMs: 60_000 });
    healed = true;
    expect(await a.redrive(queue, [doomed.id, waiting.id, "no-such-job"])).toBe(1);
    await until(() => attempts.length === 2, 10_000, "the redriven job to run");
    expect(attempts).toEqual([1, 1]);
    expect(await a.redrive(queue)).toBe(0);
  });
});
