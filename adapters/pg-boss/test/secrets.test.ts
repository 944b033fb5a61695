import { describeSecrets, SECRET_PASSWORD, SHORT_TIMEOUTS } from "../../../scripts/test-support/secret-suite.ts";

describeSecrets({
  name: "pg-boss",
  backend: (port) => ({ url: `postgres://postgres:${SECRET_PASSWORD}@127.0.0.1:${port}/test?${SHORT_TIMEOUTS}` }),
});
