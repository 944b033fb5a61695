import { DEADLINE_PASSWORD, describeDeadlines } from "../../../scripts/test-support/deadline-suite.ts";

// An endpoint that accepts connections and never answers, as a stalled proxy in front of SQS would.
describeDeadlines({
  name: "sqs",
  backend: (port, timeouts) => ({ url: `sqs://key:${DEADLINE_PASSWORD}@127.0.0.1:${port}?region=us-east-1&${timeouts}` }),
});
