import { runConformance } from "@taskport/conformance";
import { withJobStore } from "@taskport/core";
import { deletePrefix, testStore } from "../../../stores/redis/test/support.ts";
import { RabbitMQAdapter } from "../src/index.ts";
import { AMQP_URL, deleteQueues } from "./support.ts";

// The engine with a Redis job store beside it: results, status, cancel, until-finished deduplication
// and progress come from the store. Adapters created for one test share the store's key prefix (the
// testId), as the processes of one app share its store; cleanup deletes the prefix's keys.

await runConformance({
  name: "rabbitmq+redis",
  createAdapter: ({ testId, nativeDelayLimitMs }) =>
    withJobStore(
      new RabbitMQAdapter({
        url: AMQP_URL,
        connectionName: `tp-${testId}`,
        ...(nativeDelayLimitMs !== undefined ? { maxDelayBucketMs: nativeDelayLimitMs } : {}),
        maxPayloadBytes: 1024 * 1024,
      }),
      testStore(testId),
    ),
  capabilities: {
    delay: true,
    priority: true,
    results: true,
    cancel: true,
    cancelRunning: true,
    deduplication: "until-finished",
    nativeBulkEnqueue: true,
    transactions: false,
    ordering: "none",
    progress: true,
    retention: true,
    deadLetter: true,
    crashCountsAsAttempt: false,
    redrive: true,
    discardDeadLetters: true,
    stats: true,
    listJobs: true,
    maxPayloadBytes: 1024 * 1024,
  },
  optOut: {
    serviceRestart:
      "the broker's restart is covered by the rabbitmq run (conformance.test.ts); a second restart from this file would cut into that run's tests",
    networkFaults: "the engine's connections are faulted by its own run; a silent store by stores/redis/test",
    blackHole: "the engine's connections are faulted by its own run; a silent store by stores/redis/test",
  },
  harness: {
    // The engine is down, the store is not: the enqueue's record is forgotten and the error is the engine's.
    unreachableAdapter: () => withJobStore(new RabbitMQAdapter({ url: "amqp://guest:guest@127.0.0.1:1" }), testStore("tp-unreachable")),
    cleanup: async (testId, queues) => {
      await Promise.all([deleteQueues(queues), deletePrefix(testId)]);
    },
  },
});
