import { randomBytes } from "node:crypto";
import { Backend, defineTask, startWorker } from "@taskport/core";
import { afterAll, describe, expect, it } from "vitest";
import { clientsNamed, killClientsNamed, redisCommand, TEST_PREFIX, testAdapter } from "./support.ts";

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

describe("bee-queue adapter: connection loss", () => {
  it("killing the worker's own connections (CLIENT KILL ID) twice during a run of 1,000 jobs loses none", async () => {
    // clientName names exactly this test's connections: `tp-<id>` enqueues, `tp-<id>-worker` works.
    const adapter = testAdapter(id);
    const backend = new Backend(id, adapter);
    const seen = new Set<number>();
    let runs = 0;
    const job = defineTask(
      "job",
      async (p: { i: number }) => {
        runs++;
        seen.add(p.i);
        await new Promise((resolve) => setTimeout(resolve, 5));
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
      await until(() => seen.size > 100, 30_000, "the run to be under way");
      const killed = await killClientsNamed(`tp-${id}-worker`);
      // The command client, the blocking client and the pub/sub client.
      expect(killed).toBe(3);
      await bound.enqueueMany(Array.from({ length: count / 2 }, (_, i) => ({ i: i + count / 2 })));
      await until(() => seen.size > 600, 60_000, "the run to go on after the first kill");
      // All three are back, named again, before the second kill.
      for (let deadline = Date.now() + 30_000; (await clientsNamed(`tp-${id}-worker`)).length < 3 && Date.now() < deadline; ) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect(await killClientsNamed(`tp-${id}-worker`)).toBe(3);
      await until(() => seen.size === count, 90_000, `all ${count} jobs (have ${seen.size})`);
      expect(runs).toBeGreaterThanOrEqual(count);
      // The loss was reported through the worker's error events, not swallowed.
      expect(errors.some((e) => /connection to Redis was lost/.test(e.message))).toBe(true);
    } finally {
      await worker.close({ graceMs: 5_000 });
      await adapter.close();
    }
  }, 180_000);

  it("killing the enqueueing connection while 50 enqueues are in flight fails none and stores each job once", async () => {
    const producerId = `${id}p`;
    const producerQueue = `${producerId}-main`;
    const adapter = testAdapter(producerId);
    const backend = new Backend(producerId, adapter);
    const job = defineTask("job", async (_: { i: number }) => {}, { queue: producerQueue }).using({ backend });
    try {
      await job.enqueue({ i: -1 });
      const count = 10_000;
      let next = 0;
      let killed = 0;
      const enqueuers = Array.from({ length: 50 }, async () => {
        while (next < count) await job.enqueue({ i: next++ });
      });
      const killer = (async () => {
        for (const at of [1_000, 4_000, 7_000]) {
          await until(() => next > at, 60_000, "enqueues to go on");
          // Kill once the connection is back (it reconnects after each kill), while enqueues go on.
          while (next < count) {
            const n = await killClientsNamed(`tp-${producerId}`);
            killed += n;
            if (n > 0) break;
            await new Promise((resolve) => setTimeout(resolve, 5));
          }
        }
      })();
      await Promise.all([...enqueuers, killer]);
      expect(killed).toBeGreaterThanOrEqual(2);
      // The jobs' ids make a save retried after a lost reply a no-op, never a duplicate.
      expect(await redisCommand("hlen", `${TEST_PREFIX}:${producerQueue}:jobs`)).toBe(count + 1);
      expect(await redisCommand("llen", `${TEST_PREFIX}:${producerQueue}:waiting`)).toBe(count + 1);
    } finally {
      await adapter.destroyQueue(producerQueue).catch(() => {});
      await adapter.close();
    }
  }, 120_000);
});
