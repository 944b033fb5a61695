import type { MessageAttributeValue } from "@aws-sdk/client-sqs";
import { decodeHeaders, type NewJob } from "@taskport/core";

/**
 * How a job travels as an SQS message. The body is the payload's JSON text, so any SQS consumer
 * can read it; what taskport needs besides travels in message attributes (at most 10 per message).
 */
export const ATTRIBUTE = {
  id: "tp.id",
  name: "tp.name",
  maxAttempts: "tp.maxAttempts",
  /** Attempts used before this message was sent (a long retry is re-sent); 0 when absent. */
  attemptsBefore: "tp.attemptsBefore",
  runAt: "tp.runAt",
  /** FIFO delays only: the message group the job joins once due (its timer waits in a group of its own). */
  group: "tp.group",
  timeoutMs: "tp.timeoutMs",
  /**
   * The job's headers (`ctx.headers`) as one JSON object of strings: one attribute, not one per
   * header, within SQS's 10 per message (at most 9 with it). Absent when the job has none.
   */
  headers: "tp.headers",
  enqueuedAt: "tp.enqueuedAt",
  /** Dead letters only: the last error, its attempt, and when it failed. */
  error: "tp.error",
  attempt: "tp.attempt",
  failedAt: "tp.failedAt",
} as const;

/** Bytes kept free of the message size for taskport's attributes, so a payload's limit is exact. */
export const ATTRIBUTE_RESERVE_BYTES = 1024;

/** A job as it is sent: body and attributes, plus the delivery facts that are not attributes. */
export interface JobMessage {
  readonly id: string;
  readonly name: string;
  readonly body: string;
  readonly attributes: Record<string, MessageAttributeValue>;
  readonly runAt?: number;
  readonly deduplicationKey?: string;
  readonly queue: string;
}

// SQS accepts #x9 #xA #xD #x20–#xD7FF #xE000–#xFFFD and #x10000–#x10FFFF; some emulators refuse
// surrogate pairs too. JSON.stringify leaves these characters raw inside strings; as `\uXXXX`
// escapes the text is the same JSON value and every SQS implementation accepts it.
const UNSAFE = /[\uD800-\uDFFF\uFFFE\uFFFF]/g;

export function toBody(payloadJson: string): string {
  UNSAFE.lastIndex = 0;
  if (!UNSAFE.test(payloadJson)) return payloadJson;
  return payloadJson.replace(UNSAFE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

function text(value: string): MessageAttributeValue {
  return { DataType: "String", StringValue: value };
}

function number(value: number): MessageAttributeValue {
  return { DataType: "Number", StringValue: String(value) };
}

export function jobToMessage(job: NewJob, attemptsBefore = 0): JobMessage {
  const attributes: Record<string, MessageAttributeValue> = {
    [ATTRIBUTE.id]: text(job.id),
    [ATTRIBUTE.name]: text(job.name),
    [ATTRIBUTE.maxAttempts]: number(job.maxAttempts),
    [ATTRIBUTE.enqueuedAt]: number(job.enqueuedAt),
  };
  if (attemptsBefore > 0) attributes[ATTRIBUTE.attemptsBefore] = number(attemptsBefore);
  if (job.runAt !== undefined) attributes[ATTRIBUTE.runAt] = number(job.runAt);
  if (job.timeoutMs !== undefined) attributes[ATTRIBUTE.timeoutMs] = number(job.timeoutMs);
  if (job.headers !== undefined) attributes[ATTRIBUTE.headers] = text(toBody(JSON.stringify(job.headers)));
  return {
    id: job.id,
    name: job.name,
    queue: job.queue,
    body: toBody(job.payloadJson),
    attributes,
    ...(job.runAt !== undefined ? { runAt: job.runAt } : {}),
    ...(job.deduplicationKey !== undefined ? { deduplicationKey: job.deduplicationKey } : {}),
  };
}

/** Bytes SQS counts for a message: body, and each attribute's name, type and value. */
export function messageBytes(body: string, attributes: Record<string, MessageAttributeValue>): number {
  let size = utf8Bytes(body);
  for (const name in attributes) {
    const value = attributes[name] as MessageAttributeValue;
    size += utf8Bytes(name) + utf8Bytes(value.DataType ?? "") + utf8Bytes(value.StringValue ?? "");
  }
  return size;
}

const NON_ASCII = /[\u0080-\uffff]/;

/** UTF-8 length; ASCII text (ids, numbers, most names) is measured without encoding it. */
function utf8Bytes(text: string): number {
  return text.length < 256 && !NON_ASCII.test(text) ? text.length : Buffer.byteLength(text, "utf8");
}

/** What taskport reads back from a received message's attributes. */
export interface MessageFacts {
  readonly id: string;
  readonly name: string;
  readonly maxAttempts: number;
  readonly attemptsBefore: number;
  readonly runAt?: number;
  readonly timeoutMs?: number;
  readonly enqueuedAt?: number;
  readonly group?: string;
  /** The job's headers; absent when it has none (and in messages of earlier versions). */
  readonly headers?: Readonly<Record<string, string>>;
}

export function readFacts(attributes: Record<string, MessageAttributeValue> | undefined, messageId: string): MessageFacts {
  const get = (name: string) => attributes?.[name]?.StringValue;
  const num = (name: string) => {
    const value = get(name);
    const n = value === undefined ? Number.NaN : Number(value);
    return Number.isFinite(n) ? n : undefined;
  };
  const runAt = num(ATTRIBUTE.runAt);
  const timeoutMs = num(ATTRIBUTE.timeoutMs);
  const enqueuedAt = num(ATTRIBUTE.enqueuedAt);
  const group = get(ATTRIBUTE.group);
  const headers = decodeHeaders(get(ATTRIBUTE.headers));
  return {
    // A message sent by other code than taskport still gets an id and a name, so it fails visibly.
    id: get(ATTRIBUTE.id) ?? messageId,
    name: get(ATTRIBUTE.name) ?? "",
    maxAttempts: num(ATTRIBUTE.maxAttempts) ?? 1,
    attemptsBefore: num(ATTRIBUTE.attemptsBefore) ?? 0,
    ...(runAt !== undefined ? { runAt } : {}),
    ...(timeoutMs !== undefined ? { timeoutMs } : {}),
    ...(enqueuedAt !== undefined ? { enqueuedAt } : {}),
    ...(group !== undefined ? { group } : {}),
    ...(headers !== undefined ? { headers } : {}),
  };
}

/** The attributes of a received message, to send it again (a delay hop, a long retry) with a new attempt count. */
export function resendAttributes(
  attributes: Record<string, MessageAttributeValue> | undefined,
  attemptsBefore: number,
  runAt: number | undefined,
): Record<string, MessageAttributeValue> {
  const out: Record<string, MessageAttributeValue> = {};
  for (const [name, value] of Object.entries(attributes ?? {})) {
    if (name === ATTRIBUTE.attemptsBefore || name === ATTRIBUTE.runAt || name === ATTRIBUTE.group) continue;
    out[name] = { DataType: value.DataType, StringValue: value.StringValue };
  }
  if (attemptsBefore > 0) out[ATTRIBUTE.attemptsBefore] = number(attemptsBefore);
  if (runAt !== undefined) out[ATTRIBUTE.runAt] = number(runAt);
  return out;
}

export function parseBody(body: string | undefined): unknown {
  if (body === undefined) return null;
  try {
    return JSON.parse(body);
  } catch {
    // Not taskport's: hand the text over; core checks it is JSON-compatible (a string is).
    return body;
  }
}
