import { type NewJob, type RecordReceipt, TaskportError } from "@taskport/core";
import { ORIGIN } from "./url-options.ts";

/** A batch to record, as the statement takes it: within a batch the first job with a key (or an id) wins. */
export interface RecordPlan {
  /** The jobs the statement writes: every job but the later ones with a key already in the batch. */
  readonly fresh: readonly NewJob[];
  /** Per job of the batch, the position of the earlier job whose key or id it repeats. */
  readonly sameAs: readonly (number | undefined)[];
}

/** What the record statement returns for each fresh job. */
export interface RecordRow {
  readonly id: string;
  /** Null for a job whose id was in the table already: the row is that record. */
  readonly queue: string | null;
  readonly dedup_key: string | null;
  /** Written by this statement (new, or a pending record whose claim ran out, taken over). */
  readonly claimed: boolean;
}

/**
 * Later jobs with a key, or an id, already in the batch never reach the statement (an upsert may
 * not touch one row twice): they are answered from the earlier job's receipt.
 */
export function planRecord(jobs: readonly NewJob[]): RecordPlan {
  const first = new Map<string, number>();
  const sameAs: (number | undefined)[] = [];
  const fresh: NewJob[] = [];
  for (const [i, job] of jobs.entries()) {
    const key = job.deduplicationKey === undefined ? undefined : keyOf(job.queue, job.deduplicationKey);
    const earlier = first.get(job.id) ?? (key === undefined ? undefined : first.get(key));
    sameAs.push(earlier);
    if (earlier !== undefined) continue;
    first.set(job.id, i);
    if (key !== undefined) first.set(key, i);
    fresh.push(job);
  }
  return { fresh, sameAs };
}

/**
 * The receipts of a batch, in its order: a job this statement claimed is recorded; any other is
 * deduplicated, answered with its own record (its id was there) or with its key's holder.
 */
export function receiptsOf(jobs: readonly NewJob[], plan: RecordPlan, rows: readonly RecordRow[]): RecordReceipt[] {
  const claimed = new Set<string>();
  const existing = new Set<string>();
  const holders = new Map<string, string>();
  for (const row of rows) {
    if (row.claimed) claimed.add(row.id);
    else if (row.queue === null || row.dedup_key === null) existing.add(row.id);
    else holders.set(keyOf(row.queue, row.dedup_key), row.id);
  }
  const receipts: RecordReceipt[] = [];
  for (const [i, job] of jobs.entries()) {
    const first = plan.sameAs[i];
    if (first !== undefined) {
      receipts.push({ id: (receipts[first] as RecordReceipt).id, deduplicated: true });
      continue;
    }
    if (claimed.has(job.id)) {
      receipts.push({ id: job.id });
      continue;
    }
    const holder = existing.has(job.id)
      ? job.id
      : job.deduplicationKey === undefined
        ? undefined
        : holders.get(keyOf(job.queue, job.deduplicationKey));
    if (holder === undefined) throw new TaskportError(ORIGIN, `job ${job.id} was neither recorded nor deduplicated; this is a bug.`);
    receipts.push({ id: holder, deduplicated: true });
  }
  return receipts;
}

function keyOf(queue: string, key: string): string {
  return `${queue}\0${key}`;
}
