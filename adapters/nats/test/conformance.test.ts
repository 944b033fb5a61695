import { type AdapterContext, runConformance } from "@taskport/conformance";
import type { Consumer } from "@taskport/core";
import { afterAll, describe, expect, it } from "vitest";
import { NatsAdapter } from "../src/index.ts";
import { deleteStreams, NATS_ENGINE, NATS_URL, restartNats } from "./support.ts";

/**
 * Short leases so that crash recovery is tested in seconds (`working()` keeps longer jobs), and
 * short pulls so that a worker's graceful stop, which lets its pull expire, takes a second.
 */
const create = ({ nativeDelayLimitMs }: AdapterContext, url: string) =>
  new NatsAdapter({
    url,
    ackWaitMs: 2_000,
    pullExpiresMs: 1_000,
    ...(nativeDelayLimitMs !== undefined ? { maxNativeDelayMs: nativeDelayLimitMs } : {}),
  });

/** `url` with its host and port replaced by `address`. */
function viaAddress(url: string, address: string): string {
  const via = new URL(url);
  via.host = address;
  return via.href;
}

await runConformance({
  name: "nats",
  // Queue names come from the suite's testId, and each queue is a stream of its own.
  createAdapter: (context) => create(context, NATS_URL),
  capabilities: {
    delay: true,
    priority: false,
    results: false,
    cancel: false,
    deduplication: "window",
    deduplicationWindowMs: 120_000,
    nativeBulkEnqueue: true,
    transactions: false,
    ordering: "none",
    progress: false,
    deadLetter: true,
    crashCountsAsAttempt: false,
    redrive: true,
    discardDeadLetters: true,
    headers: true,
    maxPayloadBytes: 1024 * 1024 - 4096,
  },
  harness: {
    // Stops and starts the machine's nats-server (or TASKPORT_NATS_RESTART): no other file uses it.
    restartServer: restartNats,
    connectVia: {
      engine: NATS_ENGINE(),
      createAdapter: (context, address) => create(context, viaAddress(NATS_URL, address)),
    },
    unreachableAdapter: () => new NatsAdapter({ url: "nats://127.0.0.1:1" }),
    cleanup: (_testId, queues) => deleteStreams(queues),
  },
});

// In this file because it restarts the server. A retry that waited as a nak could come back early
// after a restart: nats-server 2.9 keeps a nak's deadline in whole seconds (it came 0.1 s early in
// one run), and a server that keeps none redelivers one ack wait later.
describe("nats: a retry's backoff across a server restart", () => {
  const queue = `retry-restart-${process.pid}-${Date.now()}`;
  let adapter: NatsAdapter | undefined;
  let consumer: Consumer | undefined;
  afterAll(async () => {
    await consumer?.abandon();
    await adapter?.close();
    await deleteStreams([queue]);
  });

  it("does not start the retry before its backoff has passed", { timeout: 120_000 }, async () => {
    const backoffMs = 10_000;
    // Short operations: a pull sent while the server was down is given up on, and sent again, soon.
    adapter = new NatsAdapter({ url: NATS_URL, ackWaitMs: 2_000, pullExpiresMs: 1_000, timeouts: { operationMs: 3_000 } });
    const runs: { attempt: number; at: number }[] = [];
    let failedAt = 0;
    const retried = new Promise<void>((resolve) => {
      void adapter
        ?.consume({ queues: [queue], concurrency: 1, onError: () => {} }, async (delivery) => {
          runs.push({ attempt: delivery.attempt, at: Date.now() });
          if (delivery.attempt === 1) {
            failedAt = Date.now();
            return { status: "failed", error: { name: "Error", message: "later" }, retryInMs: backoffMs };
          }
          resolve();
          return { status: "succeeded", result: null, resultJson: "null" };
        })
        .then((started) => {
          consumer = started;
        });
    });
    const id = `retry-${Date.now()}`;
    await adapter.enqueue([
      { id, name: "flaky", queue, payload: null, payloadJson: "null", priority: 0, maxAttempts: 3, enqueuedAt: Date.now() },
    ]);
    while (failedAt === 0) await new Promise((resolve) => setTimeout(resolve, 50));
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    await restartNats();
    await retried;
    expect(runs.map((run) => run.attempt)).toEqual([1, 2]);
    expect((runs[1]?.at ?? 0) - failedAt).toBeGreaterThanOrEqual(backoffMs);
  });
});

// In this file because they restart the server. With the adapter's defaults (30 s operations, 30 s
// ack waits, 5 s pulls): a pull the restart cut off must not leave a worker idle until an operation
// or an ack wait times out.
describe("nats: a worker resumes soon after a server restart", () => {
  const queues: string[] = [];
  const adapters: NatsAdapter[] = [];
  const consumers: Consumer[] = [];
  afterAll(async () => {
    await Promise.allSettled(consumers.map((consumer) => consumer.abandon()));
    await Promise.allSettled(adapters.map((adapter) => adapter.close()));
    await deleteStreams(queues);
  });

  /** A worker on a queue of its own with the default settings, and a producer beside it. */
  const setUp = async (name: string, handle: (id: string, attempt: number) => "ok" | "retry") => {
    const queue = `${name}-${process.pid}-${Date.now()}`;
    queues.push(queue);
    const worker = new NatsAdapter({ url: NATS_URL });
    const producer = new NatsAdapter({ url: NATS_URL });
    adapters.push(worker, producer);
    const runs: { id: string; attempt: number; at: number }[] = [];
    consumers.push(
      await worker.consume({ queues: [queue], concurrency: 2, onError: () => {} }, async (delivery) => {
        runs.push({ id: delivery.id, attempt: delivery.attempt, at: Date.now() });
        return handle(delivery.id, delivery.attempt) === "ok"
          ? { status: "succeeded", result: null, resultJson: "null" }
          : { status: "failed", error: { name: "Error", message: "later" }, retryInMs: 3_000 };
      }),
    );
    const enqueue = (id: string, runAt?: number) =>
      producer.enqueue([
        {
          id,
          name: "job",
          queue,
          payload: null,
          payloadJson: "null",
          priority: 0,
          maxAttempts: 3,
          enqueuedAt: Date.now(),
          ...(runAt ? { runAt } : {}),
        },
      ]);
    const ran = async (id: string, attempt = 1) => {
      const deadline = Date.now() + 60_000;
      for (;;) {
        const run = runs.find((r) => r.id === id && r.attempt === attempt);
        if (run) return run.at;
        if (Date.now() > deadline) throw new Error(`job ${id} (attempt ${attempt}) did not run within 60 s`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    };
    return { enqueue, ran, runs };
  };

  it("takes jobs enqueued as the server goes down and once it is back within seconds, each once", { timeout: 180_000 }, async () => {
    const { enqueue, ran, runs } = await setUp("restart-pull", () => "ok");
    await enqueue("warm-up");
    await ran("warm-up");
    // The worker's pulls are now waiting on the server the restart is about to stop.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const during = enqueue("during");
    await restartNats();
    const back = Date.now();
    await during;
    await enqueue("after");
    const [duringAt, afterAt] = [await ran("during"), await ran("after")];
    // Without a fresh pull, the worker would sit idle until its stale pull's operation timed out (30 s).
    expect(duringAt - back).toBeLessThan(10_000);
    expect(afterAt - back).toBeLessThan(10_000);
    // Nothing ran twice (a lost ack would show within one ack wait: 30 s; a pull given up on too soon, at once).
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    expect(runs.map((r) => r.id).sort()).toEqual(["after", "during", "warm-up"]);
  });

  it("runs a delayed job and a retry due shortly after the restart within seconds of due, never early", { timeout: 180_000 }, async () => {
    let failedAt = 0;
    const { enqueue, ran, runs } = await setUp("restart-delay", (id, attempt) => {
      if (id !== "retried" || attempt > 1) return "ok";
      failedAt = Date.now();
      return "retry";
    });
    await enqueue("retried");
    await ran("retried");
    const delayedDue = Date.now() + 3_000;
    await enqueue("delayed", delayedDue);
    // The retry's copy is on `.delayed` (its publish is confirmed before the settlement ends).
    await new Promise((resolve) => setTimeout(resolve, 300));
    await restartNats();
    const back = Date.now();
    const retryDue = failedAt + 3_000;
    const [delayedAt, retriedAt] = [await ran("delayed"), await ran("retried", 2)];
    expect(delayedAt).toBeGreaterThanOrEqual(delayedDue);
    expect(retriedAt).toBeGreaterThanOrEqual(retryDue);
    // Without fresh pulls, or with a hop's nak lost to the restart, they waited out the `delayed` consumer's 30 s ack wait.
    expect(delayedAt - Math.max(delayedDue, back)).toBeLessThan(10_000);
    expect(retriedAt - Math.max(retryDue, back)).toBeLessThan(10_000);
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    expect(runs.map((r) => `${r.id}:${r.attempt}`).sort()).toEqual(["delayed:1", "retried:1", "retried:2"]);
  });
});
