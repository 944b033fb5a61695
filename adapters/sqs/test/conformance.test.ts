import { type AdapterContext, runConformance } from "@taskport/conformance";
import { afterAll } from "vitest";
import { SqsAdapter } from "../src/index.ts";
import { CREDENTIALS, Emulator, REGION } from "./support.ts";

const emulator = new Emulator({ persistent: true });
await emulator.start();
afterAll(() => emulator.stop());

/** Short leases so that crash recovery is tested in seconds; the heartbeat keeps longer jobs. */
const VISIBILITY_SECONDS = 3;

const create = ({ nativeDelayLimitMs }: AdapterContext, endpoint: string) =>
  new SqsAdapter({
    endpoint,
    region: REGION,
    credentials: CREDENTIALS,
    createQueues: true,
    visibilityTimeout: VISIBILITY_SECONDS,
    ...(nativeDelayLimitMs !== undefined ? { maxNativeDelayMs: nativeDelayLimitMs } : {}),
  });

await runConformance({
  name: "sqs",
  createAdapter: (context) => create(context, emulator.endpoint),
  capabilities: {
    delay: true,
    maxNativeDelayMs: 900_000,
    priority: false,
    results: false,
    cancel: false,
    deduplication: false,
    nativeBulkEnqueue: true,
    transactions: false,
    ordering: "none",
    progress: false,
    deadLetter: true,
    crashCountsAsAttempt: false,
    redrive: true,
    discardDeadLetters: true,
    maxPayloadBytes: 262_144 - 1024,
  },
  harness: {
    restartServer: () => emulator.restart(),
    connectVia: {
      engine: { host: new URL(emulator.endpoint).hostname, port: Number(new URL(emulator.endpoint).port) },
      createAdapter: (context, address) => create(context, `http://${address}`),
    },
    unreachableAdapter: () =>
      new SqsAdapter({ url: `sqs://${CREDENTIALS.accessKeyId}:${CREDENTIALS.secretAccessKey}@127.0.0.1:1?region=${REGION}` }),
    cleanup: (_testId, queues) => emulator.deleteQueues(queues, false),
  },
});
