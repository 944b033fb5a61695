import { DEADLINE_PASSWORD, describeDeadlines } from "../../../scripts/test-support/deadline-suite.ts";

describeDeadlines({
  name: "pg-boss",
  backend: (port, timeouts) => ({ url: `postgres://app:${DEADLINE_PASSWORD}@127.0.0.1:${port}/test?schema=deadlines&${timeouts}` }),
});
