import { DEADLINE_PASSWORD, describeDeadlines, describeStall } from "../../../scripts/test-support/deadline-suite.ts";
import { NATS_ENGINE } from "./support.ts";

describeDeadlines({
  name: "nats",
  backend: (port, timeouts) => ({ url: `nats://taskport:${DEADLINE_PASSWORD}@127.0.0.1:${port}?${timeouts}` }),
});

describeStall({
  name: "nats",
  serverPort: () => NATS_ENGINE().port,
  backend: (address, timeouts) => ({ url: `nats://${address}?${timeouts}` }),
});
