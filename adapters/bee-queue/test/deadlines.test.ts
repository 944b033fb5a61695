import { DEADLINE_PASSWORD, describeDeadlines } from "../../../scripts/test-support/deadline-suite.ts";

describeDeadlines({
  name: "bee-queue",
  backend: (port, timeouts) => ({ url: `bee-queue://:${DEADLINE_PASSWORD}@127.0.0.1:${port}/0?${timeouts}` }),
});
