import { DEADLINE_PASSWORD, describeDeadlines, describeStall } from "../../../scripts/test-support/deadline-suite.ts";

describeDeadlines({
  name: "bullmq",
  backend: (port, timeouts) => ({ url: `bullmq://:${DEADLINE_PASSWORD}@127.0.0.1:${port}/0?${timeouts}` }),
});

describeStall({
  name: "bullmq",
  serverPort: 6379,
  backend: (address, timeouts) => ({ url: `bullmq://${address}/0?${timeouts}` }),
});
