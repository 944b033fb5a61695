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
