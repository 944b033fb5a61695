import { runConformance } from "@taskport/conformance";
import { withJobStore } from "@taskport/core";
import { RedisStore } from "@taskport/redis-store";
import { afterAll } from "vitest";
import { SqsAdapter } from "../src/index.ts";
import { CREDENTIALS, Emulator, REGION } from "./support.ts";

const REDIS_URL = process.env.TASKPORT_REDIS_URL ?? "redis://127.0.0.1:6379/0";

const emulator = new Emulator();
await emulator.start();
afterAll(() => emulator.stop());

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

/** What the store adds to either kind of queue. */
const STORE_CAPABILITIES = {
  results: true,
  cancel: true,
  cancelRunning: true,
  deduplication: "until-finished",
  progress: true,
} as const;

const SERVICE_RESTART =
  "the emulator's restart is covered by the sqs and sqs-fifo runs (conformance*.test.ts); this run tests what the store adds";

for (const fifo of [false, true]) {
  await runConformance({
    name: fifo ? "sqs-fifo+redis" : "sqs+redis",
    createAdapter: ({ testId, nativeDelayLimitMs }) =>
      withJobStore(
        new SqsAdapter({
          endpoint: emulator.endpoint,
          region: REGION,
          credentials: CREDENTIALS,
          fifo,
          createQueues: true,
          // Short leases so that crash recovery is tested in seconds; the heartbeat keeps longer jobs.
          visibilityTimeout: 3,
          ...(nativeDelayLimitMs !== undefined ? { maxNativeDelayMs: nativeDelayLimitMs } : {}),
        }),
        store(testId),
      ),
    capabilities: {
      delay: true,
      priority: false,
      ...STORE_CAPABILITIES,
      nativeBulkEnqueue: true,
      transactions: false,
      ordering: fifo ? "fifo" : "none",
      deadLetter: true,
      crashCountsAsAttempt: false,
    },
    optOut: {
      serviceRestart: SERVICE_RESTART,
      ...(fifo
        ? {
            concurrency: "fauxqs returns one message per FIFO message group per receive; covered by the sqs run and fifo-groups.test.ts",
          }
        : {}),
    },
    harness: {
      // The engine is down, the store is not: the enqueue's record is forgotten and the error is the engine's.
      unreachableAdapter: () =>
        withJobStore(
          new SqsAdapter({
            url: `sqs://${CREDENTIALS.accessKeyId}:${CREDENTIALS.secretAccessKey}@127.0.0.1:1?region=${REGION}${fifo ? "&fifo=true" : ""}`,
          }),
          store("tp-unreachable"),
        ),
      cleanup: async (testId, queues) => {
        await Promise.all([emulator.deleteQueues(queues, fifo), deleteStore(testId)]);
      },
    },
  });
}
