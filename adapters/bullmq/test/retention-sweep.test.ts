import { randomBytes } from "node:crypto";
import { waitFor } from "@taskport/conformance";
import { Backend, defineTask, startWorker } from "@taskport/core";
import { createPostgresBackend, Queue } from "bullmq";
import { afterAll, describe, expect, it } from "vitest";
import { sweepIntervalMs } from "../src/retention-sweep.ts";
import { DATABASE_URL, HAS_POSTGRES_BACKEND, postgresTestAdapter, TEST_SCHEMA } from "./postgres-support.ts";

const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
});

describe("bullmq retention sweep", () => {
  it("sweeps every tenth of the shorter retention, within half a second and a minute", () => {
    expect(sweepIntervalMs({ succeededMs: 86_400_000, failedMs: 7 * 86_400_000 })).toBe(60_000);
    expect(sweepIntervalMs({ succeededMs: 20_000, failedMs: 5_000 })).toBe(500);
    expect(sweepIntervalMs({ succeededMs: 100_000, failedMs: 300_000 })).toBe(10_000);
  });

  it.skipIf(!HAS_POSTGRES_BACKEND)(
    "on PostgreSQL jobs carry no retention ages, and a finished job goes past its retention with no other job finishing",
    async () => {
      const id = `tpsweep${randomBytes(3).toString("hex")}`;
      const queue = `${id}-main`;
      const adapter = postgresTestAdapter(id);
      cleanups.push(
        () => adapter.close(),
        () => adapter.destroyQueue(queue),
      );
      const backend = new Backend("sweep", { adapter, retention: { succeededMs: 1_000, failedMs: 1_000 } });
      const task = defineTask("kept", async (_: { n: number }) => "done", { queue }).using({ backend });
      const worker = await startWorker({ tasks: [task], backend });
      cleanups.push(() => worker.close({ graceMs: 0 }));
      const job = await task.enqueue({ n: 1 });
      const plain = new Queue(
        queue,
        { connection: { connectionString: DATABASE_URL, schema: TEST_SCHEMA, max: 1 } },
        createPostgresBackend,
      );
      cleanups.push(() => plain.close());
      const stored = await plain.getJob(job.id);
      expect(stored?.opts.removeOnComplete).toBeUndefined();
      expect(stored?.opts.removeOnFail).toBeUndefined();
      await waitFor(async () => (await backend.getJob(job.id, queue))?.status === "succeeded", 10_000, "the job to succeed");
      await waitFor(async () => (await backend.getJob(job.id, queue)) === null, 10_000, "the job to be swept");
    },
    30_000,
  );
});
