import { describeSecrets, SECRET_PASSWORD, SHORT_TIMEOUTS } from "../../../scripts/test-support/secret-suite.ts";

// The local server has no authentication, so it takes any password: the "refused" case needs a
// server with users, which this machine's does not have.
describeSecrets({
  name: "nats",
  backend: (port) => ({ url: `nats://taskport:${SECRET_PASSWORD}@127.0.0.1:${port}?${SHORT_TIMEOUTS}` }),
});
