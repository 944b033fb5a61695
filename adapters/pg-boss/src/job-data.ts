import type { JsonValue, NewJob } from "@taskport/core";

/**
 * The `data` column of a pg-boss job written by taskport. pg-boss wants an object, and a payload
 * may be a bare string or null, so the payload travels under `payload`. Another program can enqueue
 * a taskport job with plain pg-boss by writing this shape (see the README).
 */
export interface JobData {
  /** Task name. */
  readonly task: string;
  readonly payload: JsonValue;
  /** Attempts in all; pg-boss's own retry limit also counts redeliveries after crashes. */
  readonly maxAttempts: number;
  readonly timeoutMs?: number;
  /** Epoch ms when taskport accepted the job. */
  readonly enqueuedAt: number;
}

/** The JSON text of a job's data, built around the payload text core already encoded. */
export function jobDataJson(job: NewJob): string {
  const timeout = job.timeoutMs !== undefined ? `,"timeoutMs":${job.timeoutMs}` : "";
  return `{"task":${JSON.stringify(job.name)},"payload":${job.payloadJson},"maxAttempts":${job.maxAttempts}${timeout},"enqueuedAt":${job.enqueuedAt}}`;
}

export function isJobData(value: unknown): value is JobData {
  return typeof value === "object" && value !== null && typeof (value as JobData).task === "string" && "payload" in value;
}

/**
 * pg-boss's uniqueness (the `exclusive` queue policy) applies to every job of a queue, keyed by
 * `singletonKey`. A job without a deduplication key gets its own id as key, so only jobs that share
 * a real key collide; the prefixes keep the two kinds apart.
 */
export function singletonKeyFor(job: NewJob): string {
  return job.deduplicationKey !== undefined ? `key:${job.deduplicationKey}` : `id:${job.id}`;
}

/**
 * The engine's retry limit. Core decides retries itself (it passes a delay or not); pg-boss's limit
 * only matters when a worker dies and the heartbeat check puts the job back, so it allows the
 * job's own retries plus a few such redeliveries before pg-boss gives up on it.
 */
export const CRASH_REDELIVERIES = 5;

/** pg-boss expires an active job after `expireInSeconds`; keep it past core's own timeout. */
export function expireSecondsFor(timeoutMs: number | undefined, fallback: number): number {
  if (timeoutMs === undefined) return fallback;
  return Math.max(fallback, Math.ceil(timeoutMs / 1000) + 60);
}
