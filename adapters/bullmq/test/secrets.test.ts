import { describeSecrets, SECRET_PASSWORD, SHORT_TIMEOUTS } from "../../../scripts/test-support/secret-suite.ts";

describeSecrets({
  name: "bullmq",
  backend: (port) => ({ url: `bullmq://:${SECRET_PASSWORD}@127.0.0.1:${port}/0?${SHORT_TIMEOUTS}` }),
  wrongPassword: () => ({ url: `bullmq://tp-nobody:${SECRET_PASSWORD}@127.0.0.1:6379/0?${SHORT_TIMEOUTS}` }),
});
