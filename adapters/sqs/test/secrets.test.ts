import { describeSecrets, SECRET_PASSWORD } from "../../../scripts/test-support/secret-suite.ts";

// The secret access key is the password of an sqs:// URL.
describeSecrets({
  name: "sqs",
  backend: (port) => ({ url: `sqs://AKIDTEST:${SECRET_PASSWORD}@127.0.0.1:${port}?region=us-east-1` }),
  noTimeouts: "the adapter takes no connectTimeoutMs/operationTimeoutMs yet (issue #15 item 1)",
});
