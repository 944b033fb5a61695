import { decodeHeaders, type JsonValue, type NewJob, type SerializedError } from "@taskport/core";

/**
 * The `data` column of a pg-boss job written by taskport. pg-boss stores it as `jsonb`, which
 * reorders object keys and refuses `\u0000` and lone surrogates, all of which JSON text carries:
 * so the payload travels as its JSON text, `payloadJson`, a string that comes back byte for byte.
 * Jobs written by earlier versions, and by other programs, may carry the payload as JSON under
 * `payload` instead; both are read (see the README).
 */
export interface JobData {
  /** Task name. */
  readonly task: string;
  /** The payload's JSON text, as core encoded it. */
  readonly payloadJson?: string;
  /** The payload as JSON: jobs of earlier versions and of other producers. */
  readonly payload?: JsonValue;
  /** Attempts in all; pg-boss's own retry limit also counts redeliveries after crashes. */
  readonly maxAttempts: number;
  readonly timeoutMs?: number;
  /**
   * The job's headers as JSON text (an object of strings), for the same reason as `payloadJson`:
   * jsonb refuses `\u0000` and lone surrogates, which a header's string may hold. Absent when the
   * job has none, and in jobs of earlier versions: those run with `{}`.
   */
  readonly headersJson?: string;
  /** Epoch ms when taskport accepted the job. */
  readonly enqueuedAt: number;
}

export function toJobData(job: NewJob): JobData {
  return {
    task: job.name,
    payloadJson: job.payloadJson,
    maxAttempts: job.maxAttempts,
    ...(job.timeoutMs !== undefined ? { timeoutMs: job.timeoutMs } : {}),
    ...(job.headers !== undefined ? { headersJson: JSON.stringify(job.headers) } : {}),
    enqueuedAt: job.enqueuedAt,
  };
}

export function isJobData(value: unknown): value is JobData {
  const data = value as JobData | null;
  return (
    typeof data === "object" &&
    data !== null &&
    typeof data.task === "string" &&
    (typeof data.payloadJson === "string" || "payload" in data)
  );
}

/** The payload of a job's data; throws a `SyntaxError` when another producer's `payloadJson` is not JSON. */
export function payloadOf(data: JobData): unknown {
  return typeof data.payloadJson === "string" ? JSON.parse(data.payloadJson) : (data.payload ?? null);
}

/**
 * The `output` of a completed job: the result's JSON text under `resultJson`, for the same reason
 * as `payloadJson`. Outputs written by earlier versions carry the result as JSON under `result`.
 */
export function outputJsonOf(resultJson: string): string {
  return `{"resultJson":${JSON.stringify(resultJson)}}`;
}

export function resultOf(output: Record<string, unknown>): unknown {
  return typeof output.resultJson === "string" ? JSON.parse(output.resultJson) : (output.result ?? null);
}

// What jsonb refuses in a string: U+0000 and surrogates without their other half.
// biome-ignore lint/suspicious/noControlCharactersInRegex: U+0000 is exactly what this looks for.
const NOT_JSONB = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * A job's error as stored in `output`: its text with what jsonb refuses replaced by U+FFFD. An
 * error is read by people and matched by name, so this costs nothing; refusing it would leave the
 * job unsettled.
 */
export function errorOutputJson(error: SerializedError): string {
  return JSON.stringify(error, (_key, value: unknown) => (typeof value === "string" ? value.replace(NOT_JSONB, "\uFFFD") : value));
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

/** The headers of a job's data; none when absent, or when another producer's `headersJson` is not an object of strings. */
export function headersOf(data: JobData): Readonly<Record<string, string>> | undefined {
  return decodeHeaders(typeof data.headersJson === "string" ? data.headersJson : undefined);
}
