import { describeSecrets, SECRET_PASSWORD, SHORT_TIMEOUTS } from "../../../scripts/test-support/secret-suite.ts";

// On RabbitMQ, which keeps no status: every enqueue records its job in the store first.
const AMQP_URL = process.env.TASKPORT_AMQP_URL ?? "amqp://guest:guest@127.0.0.1:5672";

describeSecrets({
  name: "postgres-store",
  backend: (port) => ({ url: AMQP_URL, store: `postgres://postgres:${SECRET_PASSWORD}@127.0.0.1:${port}/test?${SHORT_TIMEOUTS}` }),
});
