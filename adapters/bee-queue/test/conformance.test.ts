import { runConformance } from "@taskport/conformance";
import { afterAll } from "vitest";
import { BeeQueueAdapter } from "../src/index.ts";
import { TEST_PREFIX, testAdapter } from "./support.ts";

let janitor: BeeQueueAdapter | undefined;
afterAll(async () => {
  await janitor?.close();
});

await runConformance({
  name: "bee-queue",
  // Queue names come from the suite's testId, so tests share one prefix without meeting another.
  createAdapter: ({ testId }) => testAdapter(testId),
  capabilities: {
    delay: true,
    priority: false,
    results: true,
    cancel: true,
    deduplication: true,
    nativeBulkEnqueue: true,
    transactions: false,
    ordering: "none",
    progress: true,
    deadLetter: true,
  },
  harness: {
    unreachableAdapter: () => new BeeQueueAdapter({ redis: { host: "127.0.0.1", port: 1 }, prefix: TEST_PREFIX }),
    async cleanup(_testId, queues) {
      janitor ??= testAdapter("janitor");
      for (const queue of queues) await janitor.destroyQueue(queue);
    },
  },
  optOut: {
    serviceRestart:
      "Redis here is shared with other engineers' test runs, so restarting it is not ours to do; connection loss is tested by killing this adapter's own connections (test/connection-loss.test.ts)",
  },
});
