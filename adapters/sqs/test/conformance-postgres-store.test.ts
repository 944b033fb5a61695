import { runConformance } from "@taskport/conformance";
import { withJobStore } from "@taskport/core";
import { afterAll } from "vitest";
import { conformanceStore, dropConformanceStore } from "../../../stores/postgres/test/support.ts";
import { SqsAdapter } from "../src/index.ts";
import { CREDENTIALS, Emulator, REGION } from "./support.ts";

// Sweep often, so the retention group sees records go within seconds (default: once a minute).
const SWEEP = { sweepIntervalMs: 500 };

// Standard and FIFO SQS, each with a PostgreSQL job store beside it: results, status, cancel,
// until-finished deduplication and progress come from the store, everything else from SQS.
const emulator = new Emulator();
await emulator.start();
const spareStore = `unreachable${process.pid}`;
afterAll(async () => {
  await emulator.stop();
  await dropConformanceStore(spareStore);
});

const STORE_CAPABILITIES = {
  results: true,
  cancel: true,
  cancelRunning: true,
  deduplication: "until-finished",
  progress: true,
  retention: true,
  redrive: true,
  discardDeadLetters: true,
  stats: true,
  listJobs: true,
} as const;

const RESTART =
  "the emulator's restart is covered by the sqs and sqs-fifo runs; the store beside it is not restarted, so a restart here would test nothing more";

const REASON = "the engine's connections are faulted by its own run; a silent store by stores/postgres/test";
const NETWORK = { networkFaults: REASON, blackHole: REASON };

for (const fifo of [false, true]) {
  await runConformance({
    name: fifo ? "sqs-fifo+postgres" : "sqs+postgres",
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
        conformanceStore(testId),
        SWEEP,
      ),
    capabilities: STORE_CAPABILITIES,
    optOut: fifo
      ? {
          serviceRestart: RESTART,
          ...NETWORK,
          concurrency: "fauxqs returns one message per FIFO message group per receive; covered by the sqs run and fifo-groups.test.ts",
        }
      : { serviceRestart: RESTART, ...NETWORK },
    harness: {
      // A working store beside an unreachable SQS: the enqueue is recorded, refused, and forgotten.
      unreachableAdapter: () =>
        withJobStore(
          new SqsAdapter({
            url: `sqs://${CREDENTIALS.accessKeyId}:${CREDENTIALS.secretAccessKey}@127.0.0.1:1?region=${REGION}${fifo ? "&fifo=true" : ""}`,
          }),
          conformanceStore(spareStore),
        ),
      async cleanup(testId, queues) {
        await emulator.deleteQueues(queues, fifo);
        await dropConformanceStore(testId);
      },
    },
  });
}
