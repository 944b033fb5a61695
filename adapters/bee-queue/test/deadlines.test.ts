import { DEADLINE_PASSWORD, describeDeadlines, describeStall } from "../../../scripts/test-support/deadline-suite.ts";

describeDeadlines({
  name: "bee-queue",
  backend: (port, timeouts) => ({ url: `bee-queue://:${DEADLINE_PASSWORD}@127.0.0.1:${port}/0?${timeouts}` }),
});

describeStall({
  name: "bee-queue",
  serverPort: 6379,
  backend: (address, timeouts) => ({ url: `bee-queue://${address}/0?${timeouts}` }),
});
