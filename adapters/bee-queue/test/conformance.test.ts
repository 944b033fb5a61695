import { runConformance } from "@taskport/conformance";
import { afterAll } from "vitest";
import { BeeQueueAdapter } from "../src/index.ts";
import { killClientsNamed, REDIS_HOST, REDIS_PORT, TEST_PREFIX, testAdapter } from "./support.ts";

let janitor: BeeQueueAdapter | undefined;
/** The test running now (a file's tests run one after another): whose connections restartServer cuts. */
let currentTestId: string | undefined;
afterAll(async () => {
  await janitor?.close();
});

await runConformance({
  name: "bee-queue",
  // Queue names come from the suite's testId, so tests share one prefix without meeting another.
  createAdapter: ({ testId }) => {
    currentTestId = testId;
    return testAdapter(testId);
  },
  capabilities: {
    delay: true,
    priority: false,
    results: true,
    cancel: true,
    deduplication: "while-stored",
    nativeBulkEnqueue: true,
    transactions: false,
    ordering: "none",
    progress: true,
    deadLetter: true,
    discardDeadLetters: true,
    crashCountsAsAttempt: true,
    retention: true,
  },
  harness: {
    // The Redis server is shared by the whole test run, so this cuts every connection of the running
    // test instead (CLIENT KILL ID, found by name), which the harness allows. node-redis reconnects.
    async restartServer() {
      const killed = (await killClientsNamed(`tp-${currentTestId}`)) + (await killClientsNamed(`tp-${currentTestId}-worker`));
      if (killed === 0) throw new Error(`no connection named tp-${currentTestId} to cut`);
    },
    connectVia: {
      engine: { host: REDIS_HOST, port: REDIS_PORT },
      createAdapter: ({ testId }, address) => testAdapter(testId, { redis: { host: "127.0.0.1", port: Number(address.split(":")[1]) } }),
    },
    unreachableAdapter: () => new BeeQueueAdapter({ redis: { host: "127.0.0.1", port: 1 }, prefix: TEST_PREFIX }),
    async cleanup(_testId, queues) {
      janitor ??= testAdapter("janitor");
      for (const queue of queues) await janitor.destroyQueue(queue);
    },
  },
});
