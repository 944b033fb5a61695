import { DEADLINE_PASSWORD, describeDeadlines, describeStall } from "../../../scripts/test-support/deadline-suite.ts";

describeDeadlines({
  name: "pg-boss",
  backend: (port, timeouts) => ({ url: `postgres://app:${DEADLINE_PASSWORD}@127.0.0.1:${port}/test?schema=deadlines&${timeouts}` }),
});

describeStall({
  name: "pg-boss",
  serverPort: 5432,
  backend: (address, timeouts) => ({ url: `postgres://postgres@${address}/test?schema=taskport_stall&${timeouts}` }),
});
