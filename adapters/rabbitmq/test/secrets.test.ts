import { describeSecrets, SECRET_PASSWORD } from "../../../scripts/test-support/secret-suite.ts";

describeSecrets({
  name: "rabbitmq",
  backend: (port) => ({ url: `amqp://guest:${SECRET_PASSWORD}@127.0.0.1:${port}` }),
  noTimeouts: "the adapter takes no connectTimeoutMs/operationTimeoutMs yet (issue #15 item 1)",
  wrongPassword: () => ({ url: `amqp://guest:${SECRET_PASSWORD}@127.0.0.1:5672` }),
});
