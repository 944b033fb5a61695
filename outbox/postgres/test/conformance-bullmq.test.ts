import { BullMQAdapter } from "@taskport/bullmq";
import { afterAll } from "vitest";
import { runPairConformance } from "./pair-conformance.ts";
import { engineAdapter, PREFIX } from "./pairs.ts";

let janitor: BullMQAdapter | undefined;
afterAll(async () => {
  await janitor?.close();
});

await runPairConformance({
  engine: "bullmq",
  unreachableEngine: () => new BullMQAdapter({ redis: { host: "127.0.0.1", port: 1 }, prefix: PREFIX.bullmq }),
  async cleanupEngine(_testId, queues) {
    janitor ??= engineAdapter("bullmq", "janitor") as BullMQAdapter;
    for (const queue of queues) await janitor.destroyQueue(queue);
  },
});
