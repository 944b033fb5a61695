import { type JobListOptions, type JobPage, type JobStatus, type QueueStats, ValidationError } from "@taskport/core";
import { toJobInfo } from "./job-rows.ts";
import { ORIGIN } from "./sqlite-errors.ts";
import type { JobRow, Statements } from "./statements.ts";

/**
 * Counts per status of each queue, read from the partial indexes (each count walks one index range,
 * never the table). A delayed job whose time has come counts as queued.
 */
export function queueStats(s: Statements, queues: readonly string[] | undefined, now: number): QueueStats[] {
  const known = new Map((s.knownQueues.all() as { queue: string; paused: number }[]).map((row) => [row.queue, row.paused === 1]));
  const names = queues ? [...new Set(queues)] : [...known.keys()];
  return names.sort().map((queue) => {
    const ready = s.countReady.get(queue) as { n: number; oldest: number | null };
    const scheduled = s.countScheduled.get(now, queue) as { n: number; due: number | null; oldest: number | null };
    const running = s.countRunning.get(queue) as { n: number };
    const counts: Record<JobStatus, number> = {
      scheduled: scheduled.n - (scheduled.due ?? 0),
      queued: ready.n + (scheduled.due ?? 0),
      running: running.n,
      succeeded: 0,
      failed: 0,
      cancelled: 0,
    };
    for (const row of s.countFinished.all(queue) as { state: JobStatus; n: number }[]) counts[row.state] = row.n;
    const oldest = Math.min(
      ready.oldest ?? Number.POSITIVE_INFINITY,
      scheduled.due ? (scheduled.oldest as number) : Number.POSITIVE_INFINITY,
    );
    const stats: { -readonly [K in keyof QueueStats]: QueueStats[K] } = { queue, counts, paused: known.get(queue) ?? false };
    if (Number.isFinite(oldest)) stats.oldestQueuedAgeMs = Math.max(0, now - oldest);
    return stats;
  });
}

/** A page of a queue's jobs, newest first; the cursor is the insertion order (`seq`) of the last one shown. */
export function jobPage(s: Statements, queue: string, options: JobListOptions, now: number): JobPage {
  const before = options.cursor === undefined ? Number.MAX_SAFE_INTEGER : Number(options.cursor);
  if (!Number.isSafeInteger(before) || before < 0) {
    throw new ValidationError(ORIGIN, `cursor "${options.cursor}" was not returned by listJobs; pass the previous page's cursor.`);
  }
  const limit = options.limit + 1; // one more tells whether another page follows
  let rows: JobRow[];
  switch (options.status) {
    case undefined:
      rows = s.pageAll.all(queue, before, now, limit) as unknown as JobRow[];
      break;
    case "queued":
      rows = s.pageQueued.all(queue, before, now, now, limit) as unknown as JobRow[];
      break;
    case "scheduled":
      rows = s.pageScheduled.all(queue, before, now, now, limit) as unknown as JobRow[];
      break;
    default:
      rows = s.pageByState.all(queue, before, options.status, now, limit) as unknown as JobRow[];
  }
  const page = rows.slice(0, options.limit);
  const last = page[page.length - 1];
  const jobs = page.map((row) => toJobInfo(row, now));
  return rows.length > options.limit && last ? { jobs, cursor: String(last.seq) } : { jobs };
}
