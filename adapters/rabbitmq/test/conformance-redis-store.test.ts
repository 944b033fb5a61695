import { runConformance } from "@taskport/conformance";
import { withJobStore } from "@taskport/core";
import { RedisStore } from "@taskport/redis-store";
import { RabbitMQAdapter } from "../src/index.ts";
import { AMQP_URL, deleteQueues } from "./support.ts";

const REDIS_URL = process.env.TASKPORT_REDIS_URL ?? "redis://127.0.0.1:6379/0";

/** Adapters created for one test share the store's prefix (the testId), as the processes of one app share its store. */
const store = (prefix: string) => new RedisStore({ url: REDIS_URL, prefix });

async function deleteStore(prefix: string): Promise<void> {
  const doomed = store(prefix);
  try {
    await doomed.destroy();
  } finally {
    await doomed.close();
  }
}

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
      store(testId),
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
    deadLetter: true,
    crashCountsAsAttempt: false,
    maxPayloadBytes: 1024 * 1024,
  },
  optOut: {
    serviceRestart:
      "the broker's restart is covered by the rabbitmq run (conformance.test.ts); a second restart from this file would cut into that run's tests",
  },
  harness: {
    // The engine is down, the store is not: the enqueue's record is forgotten and the error is the engine's.
    unreachableAdapter: () => withJobStore(new RabbitMQAdapter({ url: "amqp://guest:guest@127.0.0.1:1" }), store("tp-unreachable")),
    cleanup: async (testId, queues) => {
      await Promise.all([deleteQueues(queues), deleteStore(testId)]);
    },
  },
});
