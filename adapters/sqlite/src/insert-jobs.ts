import type { EnqueueReceipt, NewJob } from "@taskport/core";
import { orderedId } from "./ordered-id.ts";
import type { Statements } from "./statements.ts";

/** What a batch put in the table, for waking the workers that consume it. */
export interface Inserted {
  readonly receipts: EnqueueReceipt[];
  /** Queues that got a job that can start now. */
  readonly ready: Set<string>;
  /** The earliest due time of the delayed jobs, by queue. */
  readonly due: Map<string, number>;
}

/**
 * Insert a batch through `s`, inside a write transaction the caller holds (taskport's own, or the
 * app's). A job whose deduplication key is held by an unfinished job of its queue is not inserted:
 * its receipt names the holder, which may be a job of this same batch.
 */
export function insertJobs(s: Statements, jobs: readonly NewJob[], now: number): Inserted {
  const registered = s.registered;
  const receipts: EnqueueReceipt[] = new Array(jobs.length);
  const ready = new Set<string>();
  const due = new Map<string, number>();
  for (let i = 0; i < jobs.length; i++) {
    const job = jobs[i] as NewJob;
    if (!registered.has(job.queue)) {
      s.registerQueue.run(job.queue);
      registered.add(job.queue);
    }
    const id = orderedId(job.id, now);
    const delayed = job.runAt !== undefined && job.runAt > now;
    const runAt = delayed ? (job.runAt as number) : now;
    const key = job.deduplicationKey ?? null;
    const { changes } = s.insert.run(
      id,
      job.queue,
      job.name,
      job.payloadJson,
      job.priority,
      delayed ? "scheduled" : "queued",
      runAt,
      job.maxAttempts,
      job.timeoutMs ?? null,
      job.headers === undefined ? null : JSON.stringify(job.headers),
      key,
      job.enqueuedAt,
    );
    if (changes === 0) {
      const holder = s.dedupHolder.get(job.queue, key) as { id: string } | undefined;
      if (!holder) throw new Error(`job ${id} was neither inserted nor held back by a deduplication key`);
      receipts[i] = { id: holder.id, deduplicated: true };
      continue;
    }
    receipts[i] = { id };
    if (delayed) due.set(job.queue, Math.min(due.get(job.queue) ?? runAt, runAt));
    else ready.add(job.queue);
  }
  return { receipts, ready, due };
}
