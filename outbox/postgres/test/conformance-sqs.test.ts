import { SqsAdapter } from "@taskport/sqs";
import { afterAll } from "vitest";
// The sqs adapter's own emulator helper: fauxqs on a free loopback port, and queue clean-up.
import { Emulator } from "../../../adapters/sqs/test/support.ts";
import { runPairConformance } from "./pair-conformance.ts";
import { SQS_CREDENTIALS, SQS_REGION } from "./pairs.ts";

// One emulator for this file, reached by the relay child process too (its endpoint is an argument).
const emulator = new Emulator();
await emulator.start();
afterAll(() => emulator.stop());

await runPairConformance({
  engine: "sqs",
  sqsEndpoint: emulator.endpoint,
  unreachableEngine: () =>
    new SqsAdapter({ url: `sqs://${SQS_CREDENTIALS.accessKeyId}:${SQS_CREDENTIALS.secretAccessKey}@127.0.0.1:1?region=${SQS_REGION}` }),
  cleanupEngine: (_testId, queues) => emulator.deleteQueues(queues, false),
});
