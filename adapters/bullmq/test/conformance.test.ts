import { runConformance } from "@taskport/conformance";
import { afterAll } from "vitest";
import { BullMQAdapter } from "../src/index.ts";
import { killClients, REDIS_HOST, REDIS_PORT, TEST_PREFIX, testAdapter } from "./support.ts";

let janitor: BullMQAdapter | undefined;
afterAll(async () => {
  await janitor?.close();
});

await runConformance({
  name: "bullmq",
  // Queue names come from the suite's testId, so tests share one prefix without meeting another.
  createAdapter: ({ testId }) => testAdapter(testId),
  capabilities: {
    delay: true,
    priority: true,
    results: true,
    cancel: true,
    deduplication: "until-finished",
    retention: true,
    nativeBulkEnqueue: true,
    transactions: false,
    ordering: "fifo",
    progress: true,
    deadLetter: true,
    crashCountsAsAttempt: true,
    stats: true,
    listJobs: true,
    redrive: true,
    discardDeadLetters: true,
    pause: true,
  },
  harness: {
    // The Redis server is shared by the whole test run, so this cuts every connection of the running
    // test (found by its name, killed by ID) rather than restarting the server: ioredis reconnects.
    async restartServer(testId) {
      const killed = await killClients((name) => name.includes(`tp-${testId}`));
      if (killed === 0) throw new Error(`no connection named after tp-${testId} to cut`);
    },
    connectVia: {
      engine: { host: REDIS_HOST, port: REDIS_PORT },
      createAdapter: ({ testId }, address) => testAdapter(testId, { redis: { host: "127.0.0.1", port: Number(address.split(":")[1]) } }),
    },
    unreachableAdapter: () => new BullMQAdapter({ redis: { host: "127.0.0.1", port: 1 }, prefix: TEST_PREFIX }),
    async cleanup(_testId, queues) {
      janitor ??= testAdapter("janitor");
      for (const queue of queues) await janitor.destroyQueue(queue);
    },
  },
});
