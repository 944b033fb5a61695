/**
 * The memory engine against fastq, a plain in-process async queue: the cost of taskport's
 * validation, job records, priorities and settlement over the bare minimum of running functions.
 */
import { Backend, defineTask, MemoryAdapter, startWorker } from "@taskport/core";
import fastq from "fastq";
import type { Scenario } from "../harness.ts";
import { countdown, perSecond } from "../harness.ts";

export const title = "memory engine vs fastq (in-process)";

const JOBS = Number(process.env.BENCH_JOBS ?? 200_000);
const CHUNK = 1_000;

async function taskportEndToEnd(concurrency: number): Promise<number> {
  const backend = new Backend("bench", new MemoryAdapter({ retainFinished: 1_000 }));
  const finished = countdown(JOBS);
  const noop = defineTask("noop", async (_: { i: number }) => finished.tick()).using({ backend });
  const worker = await startWorker({ tasks: [noop], backend, concurrency });
  const start = performance.now();
  for (let i = 0; i < JOBS; i += CHUNK) {
    await noop.enqueueMany(Array.from({ length: CHUNK }, (_, j) => ({ i: i + j })));
  }
  await finished.done;
  const elapsed = performance.now() - start;
  await worker.close();
  await backend.close();
  return perSecond(JOBS, elapsed);
}

async function fastqEndToEnd(concurrency: number): Promise<number> {
  let done = 0;
  const queue = fastq.promise(async (_: { i: number }) => {
    done++;
  }, concurrency);
  const start = performance.now();
  const pending: Promise<void>[] = [];
  for (let i = 0; i < JOBS; i += CHUNK) {
    for (let j = 0; j < CHUNK; j++) pending.push(queue.push({ i: i + j }));
    await Promise.resolve();
  }
  await Promise.all(pending);
  const elapsed = performance.now() - start;
  if (done !== JOBS) throw new Error(`fastq ran ${done} of ${JOBS}`);
  return perSecond(JOBS, elapsed);
}

const DELAYED = Number(process.env.BENCH_DELAYED ?? 1_000_000);

/** Heap and off-heap growth, in MB, from holding a million delayed jobs. */
async function delayedMemory(): Promise<number> {
  const gc = globalThis.gc;
  if (!gc) throw new Error("run with --expose-gc (npm run bench does)");
  const adapter = new MemoryAdapter();
  const backend = new Backend("bench", adapter);
  const later = defineTask("later", async (_: { i: number }) => {}).using({ backend });
  gc();
  const before = process.memoryUsage();
  for (let i = 0; i < DELAYED; i += 10_000) {
    await later.enqueueMany(
      Array.from({ length: 10_000 }, (_, j) => ({ i: i + j })),
      { delayMs: 30 * 24 * 3_600_000 },
    );
  }
  gc();
  const after = process.memoryUsage();
  if (adapter.holding().delayed !== DELAYED) throw new Error(`expected ${DELAYED} delayed jobs, have ${adapter.holding().delayed}`);
  await backend.close();
  return (after.heapUsed - before.heapUsed + (after.external - before.external)) / 1e6;
}

export async function scenarios(): Promise<Scenario[]> {
  return [
    {
      name: `end-to-end no-op, concurrency 1 (${JOBS.toLocaleString("en-US")} jobs)`,
      unit: "jobs/s",
      higherIsBetter: true,
      taskport: () => taskportEndToEnd(1),
      raw: () => fastqEndToEnd(1),
    },
    {
      name: `end-to-end no-op, concurrency 100 (${JOBS.toLocaleString("en-US")} jobs)`,
      unit: "jobs/s",
      higherIsBetter: true,
      taskport: () => taskportEndToEnd(100),
      raw: () => fastqEndToEnd(100),
    },
    {
      name: `memory held by ${DELAYED.toLocaleString("en-US")} jobs delayed 30 days`,
      unit: "MB",
      higherIsBetter: false,
      taskport: delayedMemory,
    },
  ];
}
