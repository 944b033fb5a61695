import { mapPriority, type NewJob, type SerializedError } from "@taskport/core";
import type { ConsumeMessage, Options } from "amqplib";

/**
 * The engine-level message format, readable by any AMQP client: the body is the payload as JSON,
 * `messageId` the job id, `type` the task name, and taskport's bookkeeping travels in headers.
 * Header names do not start with `x-`, which a headers exchange would ignore when matching.
 */
export const HEADER = {
  attempt: "taskport-attempt",
  maxAttempts: "taskport-max-attempts",
  runAt: "taskport-run-at",
  timeoutMs: "taskport-timeout-ms",
  enqueuedAt: "taskport-enqueued-at",
  /** Which delay bucket a message is headed for; matched by the delay exchange's bindings. */
  bucket: "taskport-delay-bucket",
  /** On dead letters: the final error, as JSON `{ name, message, stack? }`. */
  error: "taskport-error",
  failedAt: "taskport-failed-at",
} as const;

/** A message as taskport reads it back. */
export interface JobMessage {
  readonly id: string;
  readonly name: string;
  readonly body: Buffer;
  readonly attempt: number;
  readonly maxAttempts: number;
  readonly runAt?: number;
  readonly timeoutMs?: number;
  readonly enqueuedAt?: number;
  readonly priority?: number;
  /** Headers that are not taskport's (an interop producer's), kept across retries. */
  readonly otherHeaders: Record<string, unknown>;
}

export function jobToMessage(job: NewJob, priorityLevels: number): JobMessage {
  return {
    id: job.id,
    name: job.name,
    body: Buffer.from(job.payloadJson),
    attempt: 1,
    maxAttempts: job.maxAttempts,
    ...(job.runAt !== undefined ? { runAt: job.runAt } : {}),
    ...(job.timeoutMs !== undefined ? { timeoutMs: job.timeoutMs } : {}),
    enqueuedAt: job.enqueuedAt,
    ...(priorityLevels > 0 ? { priority: mapPriority(job.priority, 0, priorityLevels) } : {}),
    otherHeaders: {},
  };
}

export function publishOptions(message: JobMessage, extraHeaders: Record<string, unknown> = {}): Options.Publish {
  const headers: Record<string, unknown> = {
    ...message.otherHeaders,
    [HEADER.attempt]: message.attempt,
    [HEADER.maxAttempts]: message.maxAttempts,
    ...extraHeaders,
  };
  if (message.runAt !== undefined) headers[HEADER.runAt] = message.runAt;
  if (message.timeoutMs !== undefined) headers[HEADER.timeoutMs] = message.timeoutMs;
  if (message.enqueuedAt !== undefined) headers[HEADER.enqueuedAt] = message.enqueuedAt;
  return {
    persistent: true,
    contentType: "application/json",
    messageId: message.id,
    type: message.name,
    ...(message.priority !== undefined ? { priority: message.priority } : {}),
    ...(message.enqueuedAt !== undefined ? { timestamp: Math.floor(message.enqueuedAt / 1000) } : {}),
    headers,
  };
}

/** Read a delivered message; fields another producer left out get taskport's defaults. */
export function readMessage(msg: Pick<ConsumeMessage, "content" | "properties">): JobMessage {
  const { properties } = msg;
  const headers = (properties.headers ?? {}) as Record<string, unknown>;
  const otherHeaders: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(headers)) {
    if (!key.startsWith("taskport-") && key !== "x-death" && !key.startsWith("x-first-death") && !key.startsWith("x-last-death")) {
      otherHeaders[key] = value;
    }
  }
  const runAt = num(headers[HEADER.runAt]);
  const timeoutMs = num(headers[HEADER.timeoutMs]);
  const enqueuedAt = num(headers[HEADER.enqueuedAt]);
  const priority = typeof properties.priority === "number" ? properties.priority : undefined;
  return {
    id: typeof properties.messageId === "string" && properties.messageId ? properties.messageId : "",
    name: typeof properties.type === "string" ? properties.type : "",
    body: msg.content,
    attempt: num(headers[HEADER.attempt]) ?? 1,
    maxAttempts: num(headers[HEADER.maxAttempts]) ?? 1,
    ...(runAt !== undefined ? { runAt } : {}),
    ...(timeoutMs !== undefined ? { timeoutMs } : {}),
    ...(enqueuedAt !== undefined ? { enqueuedAt } : {}),
    ...(priority !== undefined ? { priority } : {}),
    otherHeaders,
  };
}

export function readError(headers: Record<string, unknown> | undefined): SerializedError | undefined {
  const raw = headers?.[HEADER.error];
  const text = Buffer.isBuffer(raw) ? raw.toString() : typeof raw === "string" ? raw : undefined;
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as SerializedError;
  } catch {
    return { name: "Error", message: text };
  }
}

function num(value: unknown): number | undefined {
  if (typeof value === "number") return value;
  if (typeof value === "bigint") return Number(value);
  if (typeof value === "string" && value !== "" && Number.isFinite(Number(value))) return Number(value);
  return undefined;
}
