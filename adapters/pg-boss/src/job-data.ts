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

/** Prefix of the singletonKey of a taskport job with a deduplication key; see {@link DEDUP_INDEX}. */
export const DEDUP_PREFIX = "taskport:";

/** The `singletonKey` a job is stored with: its deduplication key, prefixed, or none. */
export function singletonKeyFor(job: NewJob): string | undefined {
  return job.deduplicationKey !== undefined ? `${DEDUP_PREFIX}${job.deduplicationKey}` : undefined;
}

/**
 * Deduplication: at most one pending or running job per queue and taskport key. pg-boss's
 * `exclusive` policy would do it, but it also puts every keyless job under one shared key, and
 * giving each job a key of its own costs a third of bulk-insert throughput. This partial unique
 * index touches only taskport's keyed jobs, so other jobs pay nothing, and pg-boss's inserts
 * (`ON CONFLICT DO NOTHING`) skip a duplicate just as they do under its own policies. Other
 * pg-boss queues in the schema are unaffected: their keys lack the prefix.
 */
export const DEDUP_INDEX = "taskport_dedup";

export function dedupIndexSql(schema: string): string {
  return `CREATE UNIQUE INDEX IF NOT EXISTS ${DEDUP_INDEX} ON ${schema}.job (name, singleton_key) WHERE state <= 'active' AND singleton_key LIKE '${DEDUP_PREFIX}%'`;
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
