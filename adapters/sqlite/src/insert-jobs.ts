import type { EnqueueReceipt, NewJob, Retention } from "@taskport/core";
import { idPrefix, jobId } from "./job-ids.ts";
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
 * app's). Jobs that differ only in payload — every job of one `enqueueMany` without a deduplication
 * key — go in one statement. A job whose deduplication key is held by an unfinished job of its queue
 * is not inserted: its receipt names the holder, which may be a job of this same batch. Each job
 * keeps `retention`, the time it stays readable once finished.
 */
export function insertJobs(s: Statements, jobs: readonly NewJob[], now: number, retention: Retention): Inserted {
  const receipts: EnqueueReceipt[] = new Array(jobs.length);
  const ready = new Set<string>();
  const due = new Map<string, number>();
  const prefix = idPrefix(now);
  let seq = (s.lastSeq.get() as { seq: number }).seq + 1;
  for (let i = 0; i < jobs.length; ) {
    const job = jobs[i] as NewJob;
    if (!s.registered.has(job.queue)) {
      s.registerQueue.run(job.queue);
      s.registered.add(job.queue);
    }
    const delayed = job.runAt !== undefined && job.runAt > now;
    const runAt = delayed ? (job.runAt as number) : now;
    const state = delayed ? "scheduled" : "queued";
    const headers = job.headers === undefined ? null : JSON.stringify(job.headers);
    let end = i + 1;
    if (job.deduplicationKey === undefined) while (end < jobs.length && sameShape(job, jobs[end] as NewJob)) end++;
    if (end - i > 1) {
      let payloads = "[";
      for (let k = i; k < end; k++) payloads += (k > i ? "," : "") + JSON.stringify((jobs[k] as NewJob).payloadJson);
      payloads += "]";
      const { changes } = s.insertMany.run(
        seq,
        prefix,
        seq,
        job.queue,
        job.name,
        job.priority,
        state,
        runAt,
        job.maxAttempts,
        job.timeoutMs ?? null,
        headers,
        job.enqueuedAt,
        retention.succeededMs,
        retention.failedMs,
        payloads,
      );
      // Nothing may be dropped quietly: the receipts below promise every one of these rows.
      if (changes !== end - i) throw new Error(`stored ${changes} of a batch of ${end - i} jobs`);
      for (let k = i; k < end; k++) receipts[k] = { id: jobId(prefix, seq++) };
    } else {
      const id = jobId(prefix, seq);
      const key = job.deduplicationKey ?? null;
      const { changes } = s.insertOne.run(
        seq,
        id,
        job.queue,
        job.name,
        job.payloadJson,
        job.priority,
        state,
        runAt,
        job.maxAttempts,
        job.timeoutMs ?? null,
        headers,
        key,
        job.enqueuedAt,
        retention.succeededMs,
        retention.failedMs,
      );
      if (changes === 0) {
        const holder = s.dedupHolder.get(job.queue, key) as { id: string } | undefined;
        if (!holder) throw new Error(`job ${id} was neither inserted nor held back by a deduplication key`);
        receipts[i] = { id: holder.id, deduplicated: true };
        i = end;
        continue;
      }
      receipts[i] = { id };
      seq++;
    }
    if (delayed) due.set(job.queue, Math.min(due.get(job.queue) ?? runAt, runAt));
    else ready.add(job.queue);
    i = end;
  }
  return { receipts, ready, due };
}

/** Whether `b` can share `a`'s statement: everything but the payload is the same. */
function sameShape(a: NewJob, b: NewJob): boolean {
  return (
    b.deduplicationKey === undefined &&
    a.queue === b.queue &&
    a.name === b.name &&
    a.priority === b.priority &&
    a.runAt === b.runAt &&
    a.maxAttempts === b.maxAttempts &&
    a.timeoutMs === b.timeoutMs &&
    a.enqueuedAt === b.enqueuedAt &&
    (a.headers === b.headers || JSON.stringify(a.headers) === JSON.stringify(b.headers))
  );
}
