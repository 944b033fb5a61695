import type { JobInfo, JobListOptions, JobPage, JobStatus, QueueStats } from "../contract.ts";
import { ValidationError } from "../errors.ts";
import type { MemoryJob } from "./memory-job.ts";

/**
 * Queue statistics over the jobs the memory engine holds: one pass, whatever the number of queues.
 * Finished jobs count as long as the engine retains them.
 */
export function statsOf(
  jobs: Iterable<MemoryJob>,
  queues: ReadonlySet<string> | undefined,
  paused: ReadonlySet<string>,
  now: number,
): QueueStats[] {
  const byQueue = new Map<string, { counts: Partial<Record<JobStatus, number>>; oldestReadyAt: number }>();
  for (const name of queues ?? []) byQueue.set(name, { counts: {}, oldestReadyAt: Number.POSITIVE_INFINITY });
  for (const job of jobs) {
    if (queues && !queues.has(job.queue)) continue;
    let entry = byQueue.get(job.queue);
    if (!entry) {
      entry = { counts: {}, oldestReadyAt: Number.POSITIVE_INFINITY };
      byQueue.set(job.queue, entry);
    }
    entry.counts[job.status] = (entry.counts[job.status] ?? 0) + 1;
    if (job.status === "queued" && job.readyAt < entry.oldestReadyAt) entry.oldestReadyAt = job.readyAt;
  }
  return [...byQueue]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([queue, { counts, oldestReadyAt }]) => {
      const full: Partial<Record<JobStatus, number>> = {
        scheduled: 0,
        queued: 0,
        running: 0,
        succeeded: 0,
        failed: 0,
        cancelled: 0,
        ...counts,
      };
      const stats: { -readonly [K in keyof QueueStats]: QueueStats[K] } = { queue, counts: full, paused: paused.has(queue) };
      if (Number.isFinite(oldestReadyAt)) stats.oldestQueuedAgeMs = Math.max(0, now - oldestReadyAt);
      return stats;
    });
}

/** A page of a queue's jobs, newest first; the cursor is the insertion order of the last one shown. */
export function pageOf(jobs: Iterable<MemoryJob>, queue: string, options: JobListOptions, toInfo: (job: MemoryJob) => JobInfo): JobPage {
  const before = options.cursor === undefined ? Number.POSITIVE_INFINITY : Number(options.cursor);
  if (!Number.isFinite(before) && options.cursor !== undefined) {
    throw new ValidationError("memory", `cursor "${options.cursor}" was not returned by listJobs; pass the previous page's cursor.`);
  }
  const matching: MemoryJob[] = [];
  for (const job of jobs) {
    if (job.queue === queue && job.order < before && (options.status === undefined || job.status === options.status)) matching.push(job);
  }
  matching.sort((a, b) => b.order - a.order);
  const page = matching.slice(0, options.limit);
  const last = page[page.length - 1];
  return matching.length > options.limit && last ? { jobs: page.map(toInfo), cursor: String(last.order) } : { jobs: page.map(toInfo) };
}
