import { type JobPage, type JobStatus, type QueueStats, ValidationError } from "@taskport/core";
import { type JobRow, toInfo } from "./job-rows.ts";
import { ORIGIN } from "./url-options.ts";

/** One line of the `stats` statement: a queue's records in one status, as `get` reads it. */
export interface CountRow {
  readonly queue: string;
  readonly status: JobStatus;
  readonly count: number;
  /** Epoch ms since when the oldest of them could start. */
  readonly ready_at: number | null;
}

const NONE: Readonly<Record<JobStatus, number>> = { scheduled: 0, queued: 0, running: 0, succeeded: 0, failed: 0, cancelled: 0 };

/** Fold count rows into one `QueueStats` per queue: each one asked for (zeros when it has no records), or every one. */
export function statsOf(rows: readonly CountRow[], queues: readonly string[] | undefined, now: number): QueueStats[] {
  const byQueue = new Map<string, { counts: Record<JobStatus, number>; readyAt?: number }>();
  for (const queue of queues ?? []) byQueue.set(queue, { counts: { ...NONE } });
  for (const row of rows) {
    let entry = byQueue.get(row.queue);
    if (!entry) {
      entry = { counts: { ...NONE } };
      byQueue.set(row.queue, entry);
    }
    entry.counts[row.status] += row.count;
    if (row.status === "queued" && row.ready_at !== null) entry.readyAt = Math.min(entry.readyAt ?? Infinity, row.ready_at);
  }
  // In the order asked for; every queue by name otherwise.
  const entries = queues ? [...byQueue] : [...byQueue].sort(([a], [b]) => a.localeCompare(b));
  return entries.map(([queue, { counts, readyAt }]) =>
    readyAt === undefined ? { queue, counts } : { queue, counts, oldestQueuedAgeMs: Math.max(0, now - readyAt) },
  );
}

/** The stored statuses a listing by `status` reads: a due scheduled record reads as queued. */
export function storedStatuses(status: JobStatus | undefined): JobStatus[] {
  if (status === undefined) return ["scheduled", "queued", "running", "succeeded", "failed", "cancelled"];
  return status === "queued" ? ["queued", "scheduled"] : [status];
}

/** Greater than any `seq`: the first page. */
const FIRST_PAGE = "9223372036854775807";

/** A cursor is the `seq` of the last record shown. */
export function cursorSeq(cursor: string | undefined): string {
  if (cursor === undefined) return FIRST_PAGE;
  if (!/^\d{1,19}$/.test(cursor)) {
    throw new ValidationError(ORIGIN, `cursor "${cursor}" was not returned by listJobs; pass the previous page's cursor.`);
  }
  return cursor;
}

/** One more row than the page was asked for tells that another page follows. */
export function pageOf(rows: readonly (JobRow & { seq: string })[], limit: number): JobPage {
  const page = rows.slice(0, limit);
  const jobs = page.map(toInfo);
  const last = page[page.length - 1];
  return rows.length > limit && last ? { jobs, cursor: last.seq } : { jobs };
}
