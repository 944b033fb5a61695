import type { JobStatus } from "../contract.ts";

/** Statuses a job never leaves: its deduplication key is free and its retention has started. */
const FINAL: ReadonlySet<JobStatus> = new Set(["succeeded", "failed", "cancelled"]);

export function isFinal(status: JobStatus): boolean {
  return FINAL.has(status);
}

/**
 * The attempt a start counts as: one more than the starts the store saw (so a crash counts), and
 * never less than the engine's own count (retries the engine counted before the store knew the job).
 */
export function nextAttempt(storedStarts: number, engineAttempt: number): number {
  return Math.max(storedStarts + 1, engineAttempt);
}

/** A stored `scheduled` job whose time has come is `queued`, as engines report it: no write needed. */
export function storedStatus(status: JobStatus, runAt: number | undefined, now: number): JobStatus {
  return status === "scheduled" && (runAt === undefined || runAt <= now) ? "queued" : status;
}
