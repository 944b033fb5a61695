import { decodeHeaders, mapPriority, type NewJob, type SerializedError } from "@taskport/core";
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
  /**
   * The job's headers (`ctx.headers`), as one JSON object of strings: under their own names they
   * could collide with taskport's and the broker's headers. Absent when the job has none.
   */
  headers: "taskport-headers",
  /** Written by earlier versions (epoch ms); read still. Now the `timestamp` property carries it. */
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
  /** The job's headers; absent when it has none (and in messages of earlier versions). */
  readonly headers?: Readonly<Record<string, string>>;
  /** Headers that are not taskport's (an interop producer's), kept across retries. */
  readonly otherHeaders: Record<string, unknown>;
}

export function jobToMessage(job: NewJob, priorityLevels: number): JobMessage {
  // Optional fields are assigned, not spread: this runs once per job on the enqueue hot path.
  const message: Mutable<JobMessage> = {
    id: job.id,
    name: job.name,
    body: Buffer.from(job.payloadJson),
    attempt: 1,
    maxAttempts: job.maxAttempts,
    enqueuedAt: job.enqueuedAt,
    otherHeaders: NO_HEADERS,
  };
  if (job.runAt !== undefined) message.runAt = job.runAt;
  if (job.timeoutMs !== undefined) message.timeoutMs = job.timeoutMs;
  if (job.headers !== undefined) message.headers = job.headers;
  if (priorityLevels > 0) message.priority = mapPriority(job.priority, 0, priorityLevels);
  return message;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
const NO_HEADERS: Record<string, unknown> = Object.freeze({});

/**
 * AMQP properties of a message. Headers carry only what differs from how a message without them
 * reads (attempt 1 of 1, due now): most jobs then travel with no header table at all, which amqplib
 * encodes and RabbitMQ decodes per message. The enqueue time is the standard `timestamp` property.
 */
export function publishOptions(message: JobMessage, extraHeaders?: Record<string, unknown>): Options.Publish {
  const headers: Record<string, unknown> = { ...message.otherHeaders, ...extraHeaders };
  if (message.attempt !== 1) headers[HEADER.attempt] = message.attempt;
  if (message.maxAttempts !== 1) headers[HEADER.maxAttempts] = message.maxAttempts;
  if (message.runAt !== undefined) headers[HEADER.runAt] = message.runAt;
  if (message.timeoutMs !== undefined) headers[HEADER.timeoutMs] = message.timeoutMs;
  if (message.headers !== undefined) headers[HEADER.headers] = JSON.stringify(message.headers);
  const options: Options.Publish = {
    persistent: true,
    contentType: "application/json",
    messageId: message.id,
    type: message.name,
  };
  if (message.priority !== undefined) options.priority = message.priority;
  if (message.enqueuedAt !== undefined) options.timestamp = Math.floor(message.enqueuedAt / 1000);
  if (hasKeys(headers)) options.headers = headers;
  return options;
}

function hasKeys(record: Record<string, unknown>): boolean {
  for (const _ in record) return true;
  return false;
}

/** Read a delivered message; fields another producer left out get taskport's defaults. */
export function readMessage(msg: Pick<ConsumeMessage, "content" | "properties">): JobMessage {
  const { properties } = msg;
  const headers = (properties.headers ?? {}) as Record<string, unknown>;
  const otherHeaders: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(headers)) {
    // The broker's own bookkeeping (dead-lettering, quorum delivery counts) is not carried over.
    if (!key.startsWith("taskport-") && !BROKER_HEADERS.test(key)) {
      otherHeaders[key] = value;
    }
  }
  const runAt = num(headers[HEADER.runAt]);
  const timeoutMs = num(headers[HEADER.timeoutMs]);
  // Messages of earlier versions carry the enqueue time in ms; the `timestamp` property has seconds.
  const enqueuedAt =
    num(headers[HEADER.enqueuedAt]) ?? (typeof properties.timestamp === "number" ? properties.timestamp * 1000 : undefined);
  const priority = typeof properties.priority === "number" ? properties.priority : undefined;
  const rawHeaders = headers[HEADER.headers];
  const jobHeaders = decodeHeaders(
    Buffer.isBuffer(rawHeaders) ? rawHeaders.toString() : typeof rawHeaders === "string" ? rawHeaders : undefined,
  );
  return {
    id: typeof properties.messageId === "string" && properties.messageId ? properties.messageId : "",
    name: typeof properties.type === "string" ? properties.type : "",
    body: msg.content,
    // A quorum queue counts each time the message went back unsettled (its worker died): each is an
    // attempt used. A retry is a new message, whose count starts again, with its attempt in the header.
    attempt: (num(headers[HEADER.attempt]) ?? 1) + (num(headers["x-delivery-count"]) ?? 0),
    maxAttempts: num(headers[HEADER.maxAttempts]) ?? 1,
    ...(runAt !== undefined ? { runAt } : {}),
    ...(timeoutMs !== undefined ? { timeoutMs } : {}),
    ...(enqueuedAt !== undefined ? { enqueuedAt } : {}),
    ...(priority !== undefined ? { priority } : {}),
    ...(jobHeaders !== undefined ? { headers: jobHeaders } : {}),
    otherHeaders,
  };
}

const BROKER_HEADERS = /^(x-death$|x-first-death|x-last-death|x-delivery-count$)/;

export function readError(headers: Record<string, unknown> | undefined): SerializedError | undefined {
  if (headers?.[HEADER.error] === undefined && brokerDeathReason(headers) === "delivery_limit") {
    return {
      name: "DeliveryLimitError",
      message:
        "returned to its queue unsettled more times than the queue's deliveryLimit (x-delivery-limit) allows: its worker crashed or lost its connection each time.",
    };
  }
  const raw = headers?.[HEADER.error];
  const text = Buffer.isBuffer(raw) ? raw.toString() : typeof raw === "string" ? raw : undefined;
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as SerializedError;
  } catch {
    return { name: "Error", message: text };
  }
}

/** Why the broker itself dead-lettered a message (`x-first-death-reason`), if it did. */
function brokerDeathReason(headers: Record<string, unknown> | undefined): string | undefined {
  const reason = headers?.["x-first-death-reason"];
  return Buffer.isBuffer(reason) ? reason.toString() : typeof reason === "string" ? reason : undefined;
}

function num(value: unknown): number | undefined {
  if (typeof value === "number") return value;
  if (typeof value === "bigint") return Number(value);
  if (typeof value === "string" && value !== "" && Number.isFinite(Number(value))) return Number(value);
  return undefined;
}
