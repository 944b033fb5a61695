import { BeeQueueAdapter } from "@taskport/bee-queue";
import { afterAll } from "vitest";
import { runPairConformance } from "./pair-conformance.ts";
import { engineAdapter, PREFIX } from "./pairs.ts";

let janitor: BeeQueueAdapter | undefined;
afterAll(async () => {
  await janitor?.close();
});

await runPairConformance({
  engine: "bee-queue",
  unreachableEngine: () => new BeeQueueAdapter({ redis: { host: "127.0.0.1", port: 1 }, prefix: PREFIX["bee-queue"] }),
  async cleanupEngine(_testId, queues) {
    janitor ??= engineAdapter("bee-queue", "janitor") as BeeQueueAdapter;
    for (const queue of queues) await janitor.destroyQueue(queue);
  },
});
