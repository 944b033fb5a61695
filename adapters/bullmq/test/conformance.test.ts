import { BullMQAdapter } from "../src/index.ts";
import { runBullMQConformance } from "./conformance-support.ts";
import { killClients, REDIS_HOST, REDIS_PORT, TEST_PREFIX, testAdapter } from "./support.ts";

await runBullMQConformance({
  name: "bullmq",
  adapter: (testId, address) =>
    address === undefined
      ? testAdapter(testId)
      : testAdapter(testId, { redis: { host: "127.0.0.1", port: Number(address.split(":")[1]) } }),
  engine: { host: REDIS_HOST, port: REDIS_PORT },
  // ioredis reconnects.
  cutConnections: (testId) => killClients((name) => name.includes(`tp-${testId}`)),
  unreachableAdapter: () => new BullMQAdapter({ redis: { host: "127.0.0.1", port: 1 }, prefix: TEST_PREFIX }),
});
