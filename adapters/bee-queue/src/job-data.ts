import type { SerializedError } from "@taskport/core";

/**
 * What taskport stores as a bee-queue job's `data` (bee-queue wraps it as
 * `{"data":…,"options":…,"status":…,"progress":…}` in the `<prefix>:<queue>:jobs` hash). A plain
 * bee-queue producer can enqueue a taskport job by writing this shape; a plain bee-queue worker
 * sees it as `job.data`.
 */
export interface JobData {
  /** Marks the job as taskport's. */
  readonly tp: 1;
  readonly task: string;
  readonly payload: unknown;
  readonly maxAttempts: number;
  readonly timeoutMs?: number;
  /** The job's headers; absent when it has none (and in jobs of older versions). */
  readonly headers?: Readonly<Record<string, string>>;
  readonly enqueuedAt: number;
  /** Attempts settled so far (failed or succeeded); absent means none. */
  attempts?: number;
  /**
   * Attempts whose worker died before settling them, counted by the stalled-job check
   * (CHECK_STALLED), which writes it right after `tp` in the stored JSON; absent means none.
   */
  readonly crashes?: number;
  /** Set on success when succeeded jobs are kept. */
  result?: unknown;
  /** The last attempt's error. */
  error?: SerializedError;
  finishedAt?: number;
  /**
   * Epoch ms past which the finished job reads as gone and a worker's sweep deletes it: `finishedAt`
   * plus the backend's retention for how it finished. Absent (a job finished by an older version, or
   * without a retention) means kept until deleted by other means.
   */
  expiresAt?: number;
}

/** Attempts used so far: settled, or lost with their worker. */
export function attemptsUsed(data: JobData): number {
  return (data.attempts ?? 0) + (data.crashes ?? 0);
}

export function isJobData(value: unknown): value is JobData {
  const data = value as JobData | null;
  return typeof data === "object" && data !== null && data.tp === 1 && typeof data.task === "string";
}

/** bee-queue job ids for a deduplication key: one id per key and queue, so bee-queue's `addJob` refuses a second. */
export function dedupJobId(key: string): string {
  return `dedup:${key}`;
}
