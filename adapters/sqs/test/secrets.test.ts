import { describeSecrets, SECRET_PASSWORD, SHORT_TIMEOUTS } from "../../../scripts/test-support/secret-suite.ts";

// The secret access key is the password of an sqs:// URL.
describeSecrets({
  name: "sqs",
  backend: (port) => ({ url: `sqs://AKIDTEST:${SECRET_PASSWORD}@127.0.0.1:${port}?region=us-east-1&${SHORT_TIMEOUTS}` }),
});
