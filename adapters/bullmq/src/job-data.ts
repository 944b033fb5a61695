import { decodeHeaders, type JobInfo, type JobStatus, type SerializedError } from "@taskport/core";
import type { Job } from "bullmq";

/**
 * `job.data` of a job taskport enqueued: `{ "tp": 1, "payload": <the task's JSON payload> }`, plus
 * `"timeoutMs"` when the call set one and `"headers"` when the job has any (absent in jobs of older
 * versions: no headers). Everything else lives in BullMQ's own fields (`name` is the
 * task name, `opts.attempts` the attempts in all, `timestamp` when it was enqueued). A job whose
 * data lacks `tp: 1` was added by other code: its whole `data` is the payload.
 *
 * On PostgreSQL BullMQ stores `data` as `jsonb`, which reorders object keys and refuses `\u0000`
 * and lone surrogates, all of which JSON text carries: there the payload and headers travel as
 * their JSON text, `payloadJson` and `headersJson`, strings that come back byte for byte.
 */
export type JobData = {
  readonly tp: 1;
  readonly timeoutMs?: number;
} & (
  | { readonly payload: unknown; readonly headers?: Readonly<Record<string, string>> }
  | { readonly payloadJson: string; readonly headersJson?: string }
);

export function isJobData(data: unknown): data is JobData {
  return typeof data === "object" && data !== null && (data as { tp?: unknown }).tp === 1 && ("payload" in data || "payloadJson" in data);
}

export function payloadOf(data: unknown): unknown {
  if (!isJobData(data)) return data;
  return "payloadJson" in data ? JSON.parse(data.payloadJson) : data.payload;
}

/**
 * A job's result as a taskport worker returned it: on PostgreSQL (jsonb, as for payloads) the
 * result's JSON text in `{ tp: 1, resultJson }`, elsewhere the result itself.
 */
export function resultOf(returnvalue: unknown): unknown {
  const envelope = returnvalue as { tp?: unknown; resultJson?: unknown } | null | undefined;
  if (typeof envelope === "object" && envelope !== null && envelope.tp === 1 && typeof envelope.resultJson === "string") {
    return JSON.parse(envelope.resultJson);
  }
  return returnvalue;
}

export function headersOf(data: JobData): Readonly<Record<string, string>> | undefined {
  return "headersJson" in data ? decodeHeaders(data.headersJson) : "headers" in data ? data.headers : undefined;
}

/** BullMQ's states as taskport's. */
export function toStatus(state: string): JobStatus | null {
  switch (state) {
    case "completed":
      return "succeeded";
    case "failed":
      return "failed";
    case "delayed":
      return "scheduled";
    case "active":
      return "running";
    case "waiting":
    case "prioritized":
    case "waiting-children":
      return "queued";
    default:
      return null;
  }
}

/** BullMQ keeps an error's message and stack; its name is the stack's first word. */
export function errorOf(job: Job): SerializedError | undefined {
  if (!job.failedReason) return undefined;
  const stack = job.stacktrace?.at(-1) ?? undefined;
  const name = stack?.match(/^([A-Za-z_$][\w$]*)(?::|\n|$)/)?.[1] ?? "Error";
  return { name, message: job.failedReason, ...(stack ? { stack } : {}) };
}

/**
 * Attempts used so far: those that settled (`attemptsMade`) and those whose worker died holding the
 * job (`stalledCounter`, raised by BullMQ's stalled-job check). Not `attemptsStarted`: BullMQ raises
 * that too when a stopping worker hands a fetched job back unrun.
 */
export function attemptsUsed(job: Job): number {
  return (job.attemptsMade ?? 0) + (job.stalledCounter ?? 0);
}

/** Attempts in all: BullMQ stores `attempts: 0` for a job added without the option, which means one. */
export function maxAttemptsOf(job: Job): number {
  return Math.max(1, job.opts.attempts ?? 1);
}

export function toJobInfo(job: Job, queue: string, status: JobStatus): JobInfo {
  const used = attemptsUsed(job);
  const maxAttempts = maxAttemptsOf(job);
  const runAt = job.delay > 0 ? job.timestamp + job.delay : undefined;
  const error = status !== "succeeded" ? errorOf(job) : undefined;
  return {
    id: job.id as string,
    name: job.name,
    queue,
    status,
    payload: payloadOf(job.data),
    // A running job is in its next attempt. A job failed as WorkerLostError also has the refused
    // delivery in attemptsMade: it started its attempts and the one extra start, no more.
    attempt: status === "running" ? used + 1 : Math.min(used, maxAttempts + 1),
    maxAttempts,
    enqueuedAt: job.timestamp,
    ...(status === "succeeded" ? { result: resultOf(job.returnvalue) ?? null } : {}),
    ...(error ? { error } : {}),
    ...(job.progress !== undefined && job.progress !== 0 ? { progress: job.progress } : {}),
    ...(status === "scheduled" && runAt !== undefined ? { runAt } : {}),
    ...(job.finishedOn !== undefined && (status === "succeeded" || status === "failed") ? { finishedAt: job.finishedOn } : {}),
  };
}
