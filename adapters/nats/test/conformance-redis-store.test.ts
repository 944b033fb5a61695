import { runConformance } from "@taskport/conformance";
import { withJobStore } from "@taskport/core";
import { deletePrefix, testStore } from "../../../stores/redis/test/support.ts";
import { NatsAdapter } from "../src/index.ts";
import { deleteStreams, NATS_URL } from "./support.ts";

// JetStream with a Redis job store beside it: results, status, cancel, until-finished deduplication
// and progress come from the store. Adapters created for one test share the store's key prefix (the
// testId), as the processes of one app share its store; cleanup deletes the prefix's keys.

const create = (nativeDelayLimitMs: number | undefined, url = NATS_URL) =>
  new NatsAdapter({
    url,
    ackWaitMs: 2_000,
    pullExpiresMs: 1_000,
    ...(nativeDelayLimitMs !== undefined ? { maxNativeDelayMs: nativeDelayLimitMs } : {}),
  });

await runConformance({
  name: "nats+redis",
  createAdapter: ({ testId, nativeDelayLimitMs }) => withJobStore(create(nativeDelayLimitMs), testStore(testId)),
  capabilities: {
    delay: true,
    priority: false,
    results: true,
    cancel: true,
    cancelRunning: true,
    deduplication: "until-finished",
    progress: true,
    retention: true,
    nativeBulkEnqueue: true,
    transactions: false,
    ordering: "none",
    deadLetter: true,
    crashCountsAsAttempt: false,
    redrive: true,
    discardDeadLetters: true,
  },
  optOut: {
    serviceRestart:
      "the server's restart is covered by the nats run (conformance.test.ts), which runs alone; a restart from this file would cut into other files' tests",
    networkFaults: "the engine's connections are faulted by its own run; a silent store by stores/redis/test",
    blackHole: "the engine's connections are faulted by its own run; a silent store by stores/redis/test",
  },
  harness: {
    // The engine is down, the store is not: the enqueue's record is forgotten and the error is the engine's.
    unreachableAdapter: () => withJobStore(create(undefined, "nats://127.0.0.1:1"), testStore("tp-unreachable")),
    cleanup: async (testId, queues) => {
      await Promise.all([deleteStreams(queues), deletePrefix(testId)]);
    },
  },
});
