import { type JobInfo, type JobListOptions, type JobPage, type JobStatus, type QueueStats, ValidationError } from "@taskport/core";
import { Job, type JobType, type Queue } from "bullmq";
import type { Datastore } from "./datastore.ts";
import { toJobInfo } from "./job-data.ts";

/** BullMQ's job types (its lists and sorted sets) behind each taskport status. */
const TYPES: Record<Exclude<JobStatus, "cancelled">, readonly JobType[]> = {
  scheduled: ["delayed"],
  queued: ["waiting", "prioritized", "waiting-children"],
  running: ["active"],
  succeeded: ["completed"],
  failed: ["failed"],
};
const WAITING: JobType[] = ["waiting", "prioritized"];
/**
 * Counts per status from BullMQ's own counts (one round trip per queue), cancelled jobs from
 * taskport's hash beside them; the oldest waiting job's age needs the waiting jobs' times, read in
 * chunks (BullMQ orders prioritized jobs by priority, not age).
 */
export async function queueStats(queue: Queue, store: Datastore, now: number): Promise<QueueStats> {
  const name = queue.name;
  const [raw, cancelled, paused] = await Promise.all([
    queue.getJobCounts(...Object.values(TYPES).flat()),
    store.cancelledCount(name),
    queue.isPaused(),
  ]);
  const counts: Record<JobStatus, number> = { scheduled: 0, queued: 0, running: 0, succeeded: 0, failed: 0, cancelled };
  for (const [status, types] of Object.entries(TYPES) as [JobStatus, readonly JobType[]][]) {
    counts[status] = types.reduce((sum, type) => sum + (raw[type] ?? 0), 0);
  }
  const stats: { -readonly [K in keyof QueueStats]: QueueStats[K] } = { queue: name, counts, paused };
  if (counts.queued > 0) {
    const ids = await queue.getRanges(WAITING, 0, -1);
    let oldest = Number.POSITIVE_INFINITY;
    for (const { timestamp, delay } of (await store.enqueueTimes(name, ids)).values()) oldest = Math.min(oldest, timestamp + delay);
    if (Number.isFinite(oldest)) stats.oldestQueuedAgeMs = Math.max(0, now - oldest);
  }
  return stats;
}

interface Entry {
  readonly id: string;
  readonly status: JobStatus;
  readonly timestamp: number;
  readonly cancelled?: JobInfo;
}

/**
 * A page of a queue's jobs, newest first. BullMQ keeps no index by enqueue time, so this reads the
 * ids of the statuses asked for and their enqueue times, and sorts them: a read of the whole queue,
 * fine for an operator's look, not for a hot path. Jobs enqueued in the same ms keep the order of
 * their BullMQ list or set (newest first within it). The cursor is the last job's time and id.
 */
export async function jobPage(queue: Queue, store: Datastore, options: JobListOptions): Promise<JobPage> {
  const name = queue.name;
  let after: { timestamp: number; id: string } | undefined;
  if (options.cursor !== undefined) {
    const match = /^(\d+):(.+)$/.exec(options.cursor);
    if (!match)
      throw new ValidationError("bullmq", `cursor "${options.cursor}" was not returned by listJobs; pass the previous page's cursor.`);
    after = { timestamp: Number(match[1]), id: match[2] as string };
  }
  const statuses = options.status ? [options.status] : (["running", "queued", "scheduled", "failed", "succeeded", "cancelled"] as const);
  const entries: Entry[] = [];
  for (const status of statuses) {
    if (status === "cancelled") {
      for (const info of await store.cancelledJobs(name)) {
        entries.push({ id: info.id, status, timestamp: info.enqueuedAt ?? 0, cancelled: info });
      }
      continue;
    }
    const ids = await queue.getRanges([...(TYPES[status] as JobType[])], 0, -1);
    const times = await store.enqueueTimes(name, ids);
    for (const id of ids) {
      const time = times.get(id);
      if (time) entries.push({ id, status, timestamp: time.timestamp });
    }
  }
  // Stable: equal times keep BullMQ's own order, newest first within a list or set.
  entries.sort((a, b) => b.timestamp - a.timestamp);
  let start = 0;
  if (after) {
    const at = entries.findIndex((e) => e.id === after.id);
    start = at >= 0 ? at + 1 : entries.findIndex((e) => e.timestamp < (after as { timestamp: number }).timestamp);
    if (start < 0) start = entries.length;
  }
  const picked = entries.slice(start, start + options.limit);
  const jobs = (
    await Promise.all(
      picked.map(async (entry): Promise<JobInfo | undefined> => {
        if (entry.cancelled) return entry.cancelled;
        const job = await Job.fromId(queue, entry.id);
        return job ? toJobInfo(job, name, entry.status) : undefined;
      }),
    )
  ).filter((job): job is JobInfo => job !== undefined);
  const last = picked[picked.length - 1];
  return start + options.limit < entries.length && last ? { jobs, cursor: `${last.timestamp}:${last.id}` } : { jobs };
}

/**
 * Failed jobs back to waiting with `job.retry()`: same id, `attemptsMade` and `attemptsStarted`
 * reset, and the stall count (which taskport counts as attempts) cleared first. A job
 * that left the failed set meanwhile (redriven by another call, removed) is not counted.
 */
export async function redriveJobs(queue: Queue, store: Datastore, ids: readonly string[] | undefined): Promise<number> {
  const targets = ids ? [...new Set(ids)] : await queue.getRanges(["failed"], 0, -1);
  let count = 0;
  for (const id of targets) {
    const job = await Job.fromId(queue, id);
    if (!job || !(await job.isFailed())) continue;
    // Attempts start over and the stall count goes: newer BullMQ resets the attempts in retry()
    // itself (the options below), but not the stall count, and older versions in the peer range
    // (5.59) neither.
    await store.resetAttempts(queue.name, id);
    try {
      await job.retry("failed", { resetAttemptsMade: true, resetAttemptsStarted: true });
      count++;
    } catch (error) {
      // Not in the failed set any more: another redrive took it.
      if (await job.isFailed()) throw error;
    }
  }
  return count;
}

/**
 * Failed jobs removed with BullMQ's own `Queue.remove()`: the job's hash and its place in the
 * failed set go, so it never runs and `getJob` reads `null`. A job that left the failed set
 * meanwhile (redriven, removed by another call) is not counted.
 */
export async function discardJobs(queue: Queue, ids: readonly string[] | undefined): Promise<number> {
  const targets = ids ? [...new Set(ids)] : await queue.getRanges(["failed"], 0, -1);
  let count = 0;
  for (const id of targets) {
    // Failed first: an id of a job still waiting or running is not a dead letter, and stays.
    if ((await queue.getJobState(id)) !== "failed") continue;
    if ((await queue.remove(id)) === 1) count++;
  }
  return count;
}
