import { afterAll, beforeAll } from "vitest";
import { DEADLINE_PASSWORD, describeDeadlines, describeStall } from "../../../scripts/test-support/deadline-suite.ts";
import { Emulator } from "./support.ts";

// An endpoint that accepts connections and never answers, as a stalled proxy in front of SQS would.
describeDeadlines({
  name: "sqs",
  backend: (port, timeouts) => ({ url: `sqs://key:${DEADLINE_PASSWORD}@127.0.0.1:${port}?region=us-east-1&${timeouts}` }),
});

const emulator = new Emulator();
beforeAll(() => emulator.start());
afterAll(() => emulator.stop());

describeStall({
  name: "sqs",
  serverPort: () => Number(new URL(emulator.endpoint).port),
  // Short long polls and visibility: a job handed to a poll that went silent comes back within seconds.
  backend: (address, timeouts) => ({
    url: `sqs://test:test@${address}?region=us-east-1&createQueues=true&waitTimeSeconds=1&visibilityTimeout=5&${timeouts}`,
  }),
});
