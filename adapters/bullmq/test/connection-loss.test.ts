import { randomBytes } from "node:crypto";
import { Backend, defineTask, startWorker } from "@taskport/core";
import { afterAll, describe, expect, it } from "vitest";
import { killClients, testAdapter } from "./support.ts";

const id = `tpk${randomBytes(3).toString("hex")}`;
const queue = `${id}-main`;

afterAll(async () => {
  const janitor = testAdapter(`${id}-janitor`);
  await janitor.destroyQueue(queue);
  await janitor.close();
});

async function until(condition: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe("bullmq adapter: connection loss", () => {
  it("killing the worker's and producer's own connections (CLIENT KILL ID) during a run of 1,000 jobs loses none and duplicates none", async () => {
    // clientName names exactly this test's connections: `tp-<id>` enqueues, `tp-<id>-worker` is
    // the worker's command connection and BullMQ names its blocking one `<prefix>:<base64 queue>:w:tp-<id>-worker`.
    const adapter = testAdapter(id);
    const backend = new Backend(id, adapter);
    const producerName = `tp-${id}`;
    const ours = (name: string) => name === producerName || name === `tp-${id}-worker` || name.endsWith(`:w:tp-${id}-worker`);
    const runs = new Map<number, number>();
    const job = defineTask(
      "job",
      async (p: { i: number }) => {
        runs.set(p.i, (runs.get(p.i) ?? 0) + 1);
        await new Promise((resolve) => setTimeout(resolve, 2));
      },
      { queue },
    );
    const worker = await startWorker({ tasks: [job], backend, concurrency: 10 });
    const errors: Error[] = [];
    worker.on("error", (e) => errors.push(e.error));
    try {
      const count = 1_000;
      const bound = job.using({ backend });
      await bound.enqueueMany(Array.from({ length: count / 2 }, (_, i) => ({ i })));
      await until(() => runs.size > 100, 30_000, "the run to be under way");
      // The producer, and the worker's command and blocking connections.
      expect(await killClients(ours)).toBe(3);
      await bound.enqueueMany(Array.from({ length: count / 2 }, (_, i) => ({ i: i + count / 2 })));
      await until(() => runs.size > 600, 60_000, "the run to go on after the first kill");
      expect(await killClients(ours)).toBeGreaterThanOrEqual(2);
      await until(() => runs.size === count, 90_000, `all ${count} jobs (have ${runs.size})`);
      // A job settles with its lock token, so a kill loses at most the settlement of the (≤ 10)
      // jobs in flight, which BullMQ's stalled check may run again; nothing else runs twice.
      const twice = [...runs.values()].filter((n) => n > 1).length;
      expect(twice).toBeLessThanOrEqual(20);
      // The loss was reported through the worker's error events, not swallowed.
      expect(errors.some((e) => /worker connection to Redis .* was lost/.test(e.message))).toBe(true);
    } finally {
      await worker.close({ graceMs: 5_000 });
      await adapter.close();
    }
  }, 180_000);
});
