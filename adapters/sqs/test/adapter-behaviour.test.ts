import { CreateQueueCommand, ListQueuesCommand } from "@aws-sdk/client-sqs";
import { gate, Recorder, sleep, waitFor } from "@taskport/conformance";
import {
  Backend,
  BulkEnqueueError,
  ConfigurationError,
  type Delivery,
  defineTask,
  type NewJob,
  PayloadTooLargeError,
  type Settlement,
  type startWorker,
} from "@taskport/core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { SqsAdapter, type SqsAdapterOptions } from "../src/index.ts";
import { Emulator, TestScope } from "./support.ts";

const emulator = new Emulator();
const scope = new TestScope(emulator, false);

beforeAll(() => emulator.start());
afterAll(() => emulator.stop());
afterEach(() => scope.cleanup());

const adapter = (options: Partial<SqsAdapterOptions> = {}) => scope.adapter(options);
const newQueue = () => scope.queue();
const worker = (...args: Parameters<typeof startWorker>) => scope.worker(...args);

function newJob(queue: string, payload: unknown, extra: Partial<NewJob> = {}): NewJob {
  return {
    id: crypto.randomUUID(),
    name: "job",
    queue,
    payload: payload as NewJob["payload"],
    payloadJson: JSON.stringify(payload),
    priority: 0,
    maxAttempts: 1,
    enqueuedAt: Date.now(),
    ...extra,
  };
}

describe("sqs adapter: check()", () => {
  it("reports a queue that does not exist when queues are not created on demand, and passes once it exists", async () => {
    const queue = newQueue();
    const strict = adapter({ createQueues: false, queues: [queue] });
    const problems = await strict.check();
    expect(problems.map((p) => p.message)).toEqual([
      expect.stringMatching(new RegExp(`queue "${queue}" does not exist.*createQueues`)),
      expect.stringMatching(new RegExp(`queue "${queue}-dlq" does not exist`)),
    ]);
    const client = emulator.client();
    await client.send(new CreateQueueCommand({ QueueName: queue }));
    await client.send(new CreateQueueCommand({ QueueName: `${queue}-dlq` }));
    client.destroy();
    expect(await strict.check()).toEqual([]);
    // The same list from a URL.
    const viaUrl = scope.track(new SqsAdapter({ url: emulator.url(`&queues=${queue},${queue}x`) }));
    expect((await viaUrl.check()).map((p) => p.message)).toEqual([
      expect.stringMatching(new RegExp(`queue "${queue}x" does not exist`)),
      expect.stringMatching(new RegExp(`queue "${queue}x-dlq" does not exist`)),
    ]);
  });

  it("reports a visibility timeout shorter than the task timeout when the heartbeat is off", async () => {
    const off = adapter({ heartbeat: false, visibilityTimeout: 30, taskTimeoutMs: 60_000 });
    expect((await off.check()).map((p) => p.message)).toEqual([
      expect.stringMatching(/visibilityTimeout is 30 s but a task may run 60000 ms/),
    ]);
    expect(await adapter({ visibilityTimeout: 30, taskTimeoutMs: 60_000 }).check()).toEqual([]);
    const tooLong = adapter({ taskTimeoutMs: 13 * 3600_000 });
    expect((await tooLong.check()).map((p) => p.message)).toEqual([expect.stringMatching(/12 hours/)]);
  });

  it("reports credentials the SDK cannot find as a configuration problem, not a stack trace", async () => {
    const noCredentials = adapter({
      credentials: () =>
        Promise.reject(Object.assign(new Error("Could not load credentials from any providers"), { name: "CredentialsProviderError" })),
    });
    const problems = await noCredentials.check();
    expect(problems).toHaveLength(1);
    expect(problems[0]?.message).toMatch(/^\[taskport\] \[sqs\] .*Check the credentials/);
    expect(problems[0]?.message).not.toMatch(/^\s+at /m);
  });

  it("never shows a URL's secret in check() or enqueue errors", async () => {
    const backend = new Backend("secret", "sqs://key:hunter2secret@127.0.0.1:1?region=us-east-1");
    const problems = await backend.check();
    expect(problems.length).toBeGreaterThan(0);
    expect(JSON.stringify(problems)).not.toContain("hunter2secret");
    const job = defineTask("job", async () => {}, { queue: "q" }).using({ backend });
    const error = await job.enqueue(undefined).then(
      () => new Error("enqueue succeeded"),
      (e: unknown) => e as Error,
    );
    expect(error.message).toMatch(/\[sqs\]/);
    expect(error.message).not.toContain("hunter2secret");
    await backend.close();
  });
});

describe("sqs adapter: enqueue", () => {
  it("refuses a queue that does not exist when queues are not created on demand", async () => {
    const queue = newQueue();
    const error = await adapter({ createQueues: false })
      .enqueue([newJob(queue, 1)])
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as Error).message).toMatch(new RegExp(`"${queue}(-dlq)?" does not exist.*createQueues: true`));
  });

  it("raises PayloadTooLargeError before any call, also when escaping makes the message too big", async () => {
    // Port 1 answers nothing: an attempted call would fail with a ConnectionError instead.
    const offline = new SqsAdapter({ url: "sqs://k:s@127.0.0.1:1?region=us-east-1" });
    scope.track(offline);
    const backend = new Backend("offline", offline);
    const job = defineTask("big", async (_: unknown) => {}, { queue: "q" }).using({ backend });
    await expect(job.enqueue("x".repeat(262_144))).rejects.toBeInstanceOf(PayloadTooLargeError);
    // Under the limit as JSON, but SQS-safe escaping turns each emoji's 4 bytes into 12.
    const emoji = "😀".repeat(40_000);
    const error = await job.enqueueMany([1, emoji]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PayloadTooLargeError);
    expect((error as PayloadTooLargeError).bytes).toBeGreaterThan(262_144);
  });

  it("reports each job SQS refused in a batch and stores the others", async () => {
    const queue = newQueue();
    const client = emulator.client();
    // A queue that takes messages of at most 1 KiB: the middle job is refused by SQS itself.
    await client.send(new CreateQueueCommand({ QueueName: queue, Attributes: { MaximumMessageSize: "1024" } }));
    client.destroy();
    const sqs = adapter({ deadLetter: false });
    const jobs = [newJob(queue, "small"), newJob(queue, "y".repeat(2_000)), newJob(queue, "also small")];
    const error = await sqs.enqueue(jobs).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BulkEnqueueError);
    const partial = error as BulkEnqueueError;
    expect(partial.failed.map((f) => f.id)).toEqual([jobs[1]?.id]);
    expect([...partial.storedIds].sort()).toEqual([jobs[0]?.id, jobs[2]?.id].sort());
    expect(partial.message).toMatch(/1 of 3 jobs were not enqueued/);
    const seen = new Recorder<unknown>();
    const consumer = await sqs.consume({ queues: [queue], concurrency: 5 }, async (d) => {
      seen.push(d.payload);
      return { status: "succeeded", result: null, resultJson: "null" };
    });
    scope.consumer(consumer);
    await seen.until(2, 10_000, "stored jobs");
    expect([...seen.items].sort()).toEqual(["also small", "small"]);
  });

  it("single enqueues of the same moment share a batch call, and one refused job fails alone", async () => {
    const queue = newQueue();
    const client = emulator.client();
    await client.send(new CreateQueueCommand({ QueueName: queue, Attributes: { MaximumMessageSize: "1024" } }));
    client.destroy();
    const sqs = adapter({ deadLetter: false });
    const jobs = [newJob(queue, "one"), newJob(queue, "z".repeat(2_000)), newJob(queue, "three")];
    const outcomes = await Promise.allSettled(jobs.map((job) => sqs.enqueue([job])));
    expect(outcomes.map((o) => o.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    const refused = (outcomes[1] as PromiseRejectedResult).reason as BulkEnqueueError;
    expect(refused).toBeInstanceOf(BulkEnqueueError);
    expect(refused.failed.map((f) => f.id)).toEqual([jobs[1]?.id]);
    expect(refused.storedIds).toEqual([]);
    await waitFor(() => emulator.inspect(queue)?.messages.ready.length === 2, 5_000, "the two stored jobs");
  });

  it("enqueues 95 jobs in one call as chunks of 10 and each is delivered once", async () => {
    const queue = newQueue();
    const backend = new Backend("bulk", adapter());
    const seen = new Recorder<number>();
    const job = defineTask("bulk", async (p: { i: number }) => seen.push(p.i), { queue }).using({ backend });
    await job.enqueueMany(Array.from({ length: 95 }, (_, i) => ({ i })));
    await worker({ tasks: [job], backend, concurrency: 20 });
    await seen.until(95, 20_000, "jobs");
    await sleep(300);
    expect(new Set(seen.items).size).toBe(95);
    expect(seen.length).toBe(95);
  });
});

describe("sqs adapter: leases", () => {
  it("extends the visibility of a job that runs longer than it, and stops when it settles", async () => {
    const queue = newQueue();
    const backend = new Backend("long", adapter({ visibilityTimeout: 1 }));
    const runs = new Recorder<number>();
    const job = defineTask(
      "long",
      async (_: unknown, ctx) => {
        runs.push(ctx.attempt);
        if (ctx.attempt === 1) await sleep(3_500);
      },
      { queue },
    ).using({ backend });
    const running = await worker({ tasks: [job], backend });
    const done = new Recorder<number>();
    running.on("succeeded", (e) => done.push(e.attempt));
    // A second worker on the queue would take the message if its visibility ran out.
    const otherBackend = new Backend("other", adapter({ visibilityTimeout: 1 }));
    await worker({ tasks: [job], backend: otherBackend });
    await job.enqueue(undefined);
    await done.until(1, 15_000, "the long job");
    await sleep(1_500);
    expect(runs.items).toEqual([1]);
    expect(emulator.inspect(queue)?.messages.inflight).toHaveLength(0);
  });

  it("gives messages received but not started back at once when stopping", async () => {
    const a = newQueue();
    const b = newQueue();
    const sqs = adapter({ visibilityTimeout: 60, waitTimeSeconds: 1 });
    await sqs.enqueue([newJob(a, "from a"), newJob(b, "from b")]);
    const hold = gate();
    const started = new Recorder<unknown>();
    const handler = async (d: Delivery): Promise<Settlement> => {
      started.push(d.payload);
      await hold.promise;
      return { status: "succeeded", result: null, resultJson: "null" };
    };
    // Concurrency 1 over two queues: both polls bring a message, one runs, the other waits in memory.
    const first = await sqs.consume({ queues: [a, b], concurrency: 1 }, handler);
    await started.until(1, 10_000, "the first job");
    await waitFor(
      () => (emulator.inspect(a)?.messages.inflight.length ?? 0) + (emulator.inspect(b)?.messages.inflight.length ?? 0) === 2,
      10_000,
      "both messages received",
    );
    const stopping = first.stop();
    // Its visibility is 60 s: only an explicit release lets a second consumer have it now.
    const other = adapter({ visibilityTimeout: 60, waitTimeSeconds: 1 });
    const second = await other.consume({ queues: [a, b], concurrency: 1 }, handler);
    scope.consumer(second);
    await started.until(2, 10_000, "the released job, on the second consumer");
    expect([...started.items].sort()).toEqual(["from a", "from b"]);
    hold.open();
    await stopping;
  });
});

describe("sqs adapter: a worker that stops mid-poll", () => {
  // Visibility 30 s: a message the stopping worker's long poll took, and dropped, would wait that
  // long. The poll is asked for the message just as the worker stops, five times over.
  it.each(Array.from({ length: 10 }, (_, i) => i))(
    "gives back at once a message its long poll receives while it stops (%i)",
    async () => {
      const queue = newQueue();
      const started = new Recorder<{ at: number; by: string }>();
      const handler =
        (by: string) =>
        async (_d: Delivery): Promise<Settlement> => {
          started.push({ at: Date.now(), by });
          return { status: "succeeded", result: null, resultJson: "null" };
        };
      const first = await adapter({ visibilityTimeout: 30, waitTimeSeconds: 20 }).consume(
        { queues: [queue], concurrency: 1 },
        handler("first"),
      );
      await sleep(300); // its long poll now waits on the empty queue
      await adapter().enqueue([newJob(queue, "late")]);
      const stopAt = Date.now();
      await first.stop();
      const second = await adapter({ visibilityTimeout: 30, waitTimeSeconds: 1 }).consume(
        { queues: [queue], concurrency: 1 },
        handler("second"),
      );
      scope.consumer(second);
      const [run] = await started.until(1, 10_000, "the message, on one of the workers");
      expect(run?.at ?? 0).toBeLessThan(stopAt + 10_000);
    },
    30_000,
  );
});

describe("sqs adapter: delays and attempts", () => {
  it("counts neither delay hops nor the first receive after a hop as extra attempts", async () => {
    const queue = newQueue();
    const backend = new Backend("hops", adapter({ maxNativeDelayMs: 1_000 }));
    const seen = new Recorder<{ attempt: number; at: number }>();
    const job = defineTask("hop", async (_: unknown, ctx) => seen.push({ attempt: ctx.attempt, at: Date.now() }), { queue }).using({
      backend,
    });
    await worker({ tasks: [job], backend });
    const before = Date.now();
    await job.enqueue(undefined, { delayMs: 2_500 });
    const [got] = await seen.until(1, 15_000, "the delayed job");
    expect(got?.attempt).toBe(1);
    expect((got?.at ?? 0) - before).toBeGreaterThanOrEqual(2_495);
  });

  it("deletes a job that failed for good when dead letters are off", async () => {
    const queue = newQueue();
    const sqs = adapter({ deadLetter: false });
    const backend = new Backend("nodlq", sqs);
    const job = defineTask(
      "doomed",
      async () => {
        throw new Error("no");
      },
      { queue },
    ).using({ backend });
    const running = await worker({ tasks: [job], backend });
    const failed = new Recorder<number>();
    running.on("failed", (e) => failed.push(e.attempt));
    await job.enqueue(undefined);
    await failed.until(1, 10_000, "the failed event");
    await waitFor(() => emulator.inspect(queue)?.messages.inflight.length === 0, 5_000, "the message deleted");
    expect(emulator.inspect(queue)?.messages.ready).toHaveLength(0);
    expect(emulator.inspect(`${queue}-dlq`)).toBeUndefined();
    expect(await sqs.listDeadLetters(queue, 10)).toEqual([]);
  });
});

describe("sqs adapter: redrive", () => {
  it("sends back only the letters there when it began, so jobs that fail again at once are not redriven in a loop; ids it does not hold send nothing and hide nothing", async () => {
    const queue = newQueue();
    const sqs = adapter();
    const backend = new Backend("redrive", sqs);
    const job = defineTask(
      "doomed",
      async () => {
        throw new Error("no");
      },
      { queue },
    ).using({ backend });
    const running = await worker({ tasks: [job], backend });
    const failed = new Recorder<string>();
    running.on("failed", (e) => failed.push(e.job.id));
    await job.enqueueMany([undefined, undefined, undefined]);
    await failed.until(3, 10_000, "3 failures");
    await waitFor(async () => (await sqs.listDeadLetters(queue, 10)).length === 3, 10_000, "3 dead letters");
    expect(await sqs.redrive(queue, ["not-a-letter"])).toBe(0);
    expect(await sqs.listDeadLetters(queue, 10)).toHaveLength(3);
    expect(await sqs.redrive(queue)).toBe(3);
    await failed.until(6, 10_000, "the redriven jobs to fail again");
    await waitFor(async () => (await sqs.listDeadLetters(queue, 10)).length === 3, 10_000, "3 dead letters again");
  });
});

describe("sqs adapter: clients and URLs", () => {
  it("uses the caller's own SQSClient and leaves it open on close()", async () => {
    const queue = newQueue();
    const client = emulator.client();
    const own = new SqsAdapter({ client, createQueues: true });
    const backend = new Backend("own", own);
    const seen = new Recorder<string>();
    const job = defineTask("own", async (p: string) => seen.push(p), { queue }).using({ backend });
    const running = await worker({ tasks: [job], backend });
    await job.enqueue("hello");
    await seen.until(1, 10_000, "the job");
    await running.close();
    await own.close();
    await expect(client.send(new ListQueuesCommand({}))).resolves.toBeDefined();
    client.destroy();
  });

  it("is reached through core by an sqs:// URL", async () => {
    const queue = newQueue();
    const backend = new Backend("url", emulator.url("&createQueues=true&visibilityTimeout=5"));
    expect(await backend.check()).toEqual([]);
    const seen = new Recorder<string>();
    const job = defineTask("url", async (p: string) => seen.push(p), { queue }).using({ backend });
    const running = await worker({ tasks: [job], backend });
    await job.enqueue("via URL");
    await seen.until(1, 10_000, "the job");
    expect(seen.items).toEqual(["via URL"]);
    await running.close();
    await backend.close();
  });
});
