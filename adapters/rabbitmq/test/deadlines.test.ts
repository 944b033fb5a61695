import { DEADLINE_PASSWORD, describeDeadlines, describeStall } from "../../../scripts/test-support/deadline-suite.ts";

describeDeadlines({
  name: "rabbitmq",
  backend: (port, timeouts) => ({ url: `amqp://guest:${DEADLINE_PASSWORD}@127.0.0.1:${port}/?${timeouts}` }),
});

describeStall({
  name: "rabbitmq",
  serverPort: 5672,
  backend: (address, timeouts) => ({ url: `amqp://guest:guest@${address}/?${timeouts}` }),
});
