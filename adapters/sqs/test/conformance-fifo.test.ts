import { runConformance } from "@taskport/conformance";
import { afterAll } from "vitest";
import { SqsAdapter } from "../src/index.ts";
import { CREDENTIALS, Emulator, REGION } from "./support.ts";

const emulator = new Emulator({ persistent: true });
await emulator.start();
afterAll(() => emulator.stop());

await runConformance({
  name: "sqs-fifo",
  createAdapter: ({ nativeDelayLimitMs }) =>
    new SqsAdapter({
      endpoint: emulator.endpoint,
      region: REGION,
      credentials: CREDENTIALS,
      fifo: true,
      createQueues: true,
      visibilityTimeout: 3,
      ...(nativeDelayLimitMs !== undefined ? { maxNativeDelayMs: nativeDelayLimitMs } : {}),
    }),
  capabilities: {
    delay: true,
    maxNativeDelayMs: 43_140_000,
    priority: false,
    results: false,
    cancel: false,
    deduplication: "window",
    nativeBulkEnqueue: true,
    transactions: false,
    ordering: "fifo",
    progress: false,
    deadLetter: true,
    crashCountsAsAttempt: false,
    redrive: true,
    discardDeadLetters: true,
    maxPayloadBytes: 262_144 - 1024,
  },
  optOut: {
    // The emulator hands out one message per message group per receive (SQS itself returns up to
    // 10 of a group, in order), and this run keeps a queue's jobs in one group so that order holds:
    // on fauxqs a FIFO queue runs one job at a time. The sqs run covers this group; fifo-groups.test.ts
    // runs several jobs at once on a FIFO queue with several groups.
    concurrency: "fauxqs returns one message per FIFO message group per receive; covered by the sqs run and fifo-groups.test.ts",
    networkFaults: "the same client and connections as the sqs run, which faults them",
    blackHole: "the same client and connections as the sqs run, which faults them",
  },
  harness: {
    restartServer: () => emulator.restart(),
    unreachableAdapter: () =>
      new SqsAdapter({ url: `sqs://${CREDENTIALS.accessKeyId}:${CREDENTIALS.secretAccessKey}@127.0.0.1:1?region=${REGION}&fifo=true` }),
    cleanup: (_testId, queues) => emulator.deleteQueues(queues, true),
  },
});
