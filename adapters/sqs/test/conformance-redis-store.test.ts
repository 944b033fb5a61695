import { runConformance } from "@taskport/conformance";
import { withJobStore } from "@taskport/core";
import { afterAll } from "vitest";
import { deletePrefix, testStore } from "../../../stores/redis/test/support.ts";
import { SqsAdapter } from "../src/index.ts";
import { CREDENTIALS, Emulator, REGION } from "./support.ts";

// The engine with a Redis job store beside it: results, status, cancel, until-finished deduplication
// and progress come from the store. Adapters created for one test share the store's key prefix (the
// testId), as the processes of one app share its store; cleanup deletes the prefix's keys.

const emulator = new Emulator();
await emulator.start();
afterAll(() => emulator.stop());

/** What the store adds to either kind of queue. */
const STORE_CAPABILITIES = {
  results: true,
  cancel: true,
  cancelRunning: true,
  deduplication: "until-finished",
  progress: true,
  retention: true,
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
        testStore(testId),
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
      redrive: true,
      discardDeadLetters: true,
      stats: true,
      listJobs: true,
    },
    optOut: {
      serviceRestart: SERVICE_RESTART,
      networkFaults: "the engine's connections are faulted by its own run; a silent store by stores/redis/test",
      blackHole: "the engine's connections are faulted by its own run; a silent store by stores/redis/test",
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
          testStore("tp-unreachable"),
        ),
      cleanup: async (testId, queues) => {
        await Promise.all([emulator.deleteQueues(queues, fifo), deletePrefix(testId)]);
      },
    },
  });
}
