import { type AdapterContext, runConformance } from "@taskport/conformance";
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
