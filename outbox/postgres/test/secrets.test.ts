import { describeSecrets, SECRET_PASSWORD, SHORT_TIMEOUTS } from "../../../scripts/test-support/secret-suite.ts";

describeSecrets({
  name: "postgres-outbox",
  backend: (port) => ({ url: "memory://", outbox: `postgres://postgres:${SECRET_PASSWORD}@127.0.0.1:${port}/test?${SHORT_TIMEOUTS}` }),
});
