import { describeSecrets, SECRET_PASSWORD, SHORT_TIMEOUTS } from "../../../scripts/test-support/secret-suite.ts";

describeSecrets({
  name: "rabbitmq",
  backend: (port) => ({ url: `amqp://guest:${SECRET_PASSWORD}@127.0.0.1:${port}?${SHORT_TIMEOUTS}` }),
  wrongPassword: () => ({ url: `amqp://guest:${SECRET_PASSWORD}@127.0.0.1:5672` }),
});
