import { type MsgHdrs, MsgHdrsImpl, headers as natsHeaders } from "@nats-io/transport-node";
import { decodeHeaders, type NewJob, type SerializedError } from "@taskport/core";

/**
 * How a job travels as a JetStream message. The data is the payload's JSON text, so any NATS
 * client can read it; what taskport needs besides travels in NATS headers.
 */
export const HEADER = {
  id: "Taskport-Id",
  name: "Taskport-Name",
  maxAttempts: "Taskport-Max-Attempts",
  runAt: "Taskport-Run-At",
  timeoutMs: "Taskport-Timeout-Ms",
  enqueuedAt: "Taskport-Enqueued-At",
  /** The job's headers (`ctx.headers`) as one JSON object: any name, any text, one NATS header. */
  headers: "Taskport-Headers",
  /**
   * Deliveries of the job before this message: a retry is a new message (see retryHeaders), and
   * JetStream's delivery count starts over with it.
   */
  deliveries: "Taskport-Deliveries",
  /** Dead letters only: the last error (JSON), its attempt, and when it failed. */
  error: "Taskport-Error",
  attempt: "Taskport-Attempt",
  failedAt: "Taskport-Failed-At",
} as const;

/** Bytes kept free of the server's max_payload for taskport's headers, so a payload's limit is exact. */
export const HEADER_RESERVE_BYTES = 4096;

const encoder = new TextEncoder();

export function jobHeaders(job: NewJob): MsgHdrs {
  const record: Record<string, string[]> = {
    [HEADER.id]: [job.id],
    [HEADER.name]: [job.name],
    [HEADER.maxAttempts]: [String(job.maxAttempts)],
    [HEADER.enqueuedAt]: [String(job.enqueuedAt)],
  };
  if (job.runAt !== undefined) record[HEADER.runAt] = [String(job.runAt)];
  if (job.timeoutMs !== undefined) record[HEADER.timeoutMs] = [String(job.timeoutMs)];
  if (job.headers !== undefined) record[HEADER.headers] = [asciiJson(job.headers)];
  // The client's `set` checks and canonicalises each header, which costs more than the publish's
  // other work together (~2 µs a job). The names here are canonical already, and the numbers and
  // ASCII JSON need no check: only the id and the task's name (any text) can hold what a header
  // may not, and those take the client's checked path (which rejects CR or LF, and trims).
  if (!isPlainToken(job.id) || !isPlainToken(job.name)) {
    const h = natsHeaders();
    for (const [key, [value]] of Object.entries(record)) h.set(key, value as string);
    return h;
  }
  return MsgHdrsImpl.fromRecord(record);
}

/** Visible ASCII, no space: a header value the client would take as it is. */
function isPlainToken(value: string): boolean {
  return /^[!-~]+$/.test(value);
}

export function payloadBytes(job: NewJob): Uint8Array {
  return encoder.encode(job.payloadJson);
}

/**
 * JSON with every non-ASCII character as a `\uXXXX` escape: the same JSON value, in text any NATS
 * header carries unchanged (a header line is bytes up to CRLF; JSON escapes CR and LF too).
 */
export function asciiJson(value: unknown): string {
  return JSON.stringify(value).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** What taskport reads back from a message's headers. */
export interface MessageFacts {
  readonly id: string;
  readonly name: string;
  readonly maxAttempts: number;
  readonly runAt?: number;
  readonly timeoutMs?: number;
  readonly enqueuedAt?: number;
  readonly headers?: Readonly<Record<string, string>>;
  /** Deliveries before this message's (0 for a job's first message). */
  readonly deliveriesBefore: number;
}

export function readFacts(h: MsgHdrs | undefined, fallbackId: string): MessageFacts {
  // One pass over the headers: the client's `get` lists every key on each call.
  const found: Partial<Record<string, string>> = Object.create(null);
  if (h) for (const [key, values] of h) if (values[0] !== undefined && values[0] !== "") found[key] = values[0];
  const num = (name: string) => {
    const value = found[name];
    const n = value === undefined ? Number.NaN : Number(value);
    return Number.isFinite(n) ? n : undefined;
  };
  const runAt = num(HEADER.runAt);
  const timeoutMs = num(HEADER.timeoutMs);
  const enqueuedAt = num(HEADER.enqueuedAt);
  const headers = decodeHeaders(found[HEADER.headers]);
  const deliveriesBefore = num(HEADER.deliveries);
  return {
    // A message published by other code than taskport still gets an id and a name, so it fails visibly.
    id: found[HEADER.id] ?? fallbackId,
    name: found[HEADER.name] ?? "",
    maxAttempts: num(HEADER.maxAttempts) ?? 1,
    ...(runAt !== undefined ? { runAt } : {}),
    ...(timeoutMs !== undefined ? { timeoutMs } : {}),
    ...(enqueuedAt !== undefined ? { enqueuedAt } : {}),
    ...(headers !== undefined ? { headers } : {}),
    deliveriesBefore: deliveriesBefore !== undefined && deliveriesBefore > 0 ? Math.floor(deliveriesBefore) : 0,
  };
}

/** A copy of a message's headers without those named, for a message sent on (due, dead, redriven). */
export function copyHeaders(h: MsgHdrs | undefined, without: readonly string[]): MsgHdrs {
  const out = natsHeaders();
  if (!h) return out;
  for (const key of h.keys()) {
    if (without.includes(key) || key.startsWith("Nats-")) continue;
    for (const value of h.values(key)) out.append(key, value);
  }
  return out;
}

/**
 * The headers of a retry's message: the job's, when it may run again (the delay mover holds it
 * until then, as it holds a delayed job) and how many deliveries it has had.
 */
export function retryHeaders(h: MsgHdrs | undefined, runAt: number, deliveries: number): MsgHdrs {
  const out = copyHeaders(h, [HEADER.runAt, HEADER.deliveries]);
  out.set(HEADER.runAt, String(runAt));
  out.set(HEADER.deliveries, String(deliveries));
  return out;
}

/** The headers of a dead letter: the job's, and why and when it failed. A redriven letter's deliveries start over. */
export function deadLetterHeaders(h: MsgHdrs | undefined, error: SerializedError, attempt: number): MsgHdrs {
  const out = copyHeaders(h, [HEADER.error, HEADER.attempt, HEADER.failedAt, HEADER.deliveries]);
  out.set(HEADER.error, asciiJson(error));
  out.set(HEADER.attempt, String(attempt));
  out.set(HEADER.failedAt, String(Date.now()));
  return out;
}

export function readError(h: MsgHdrs | undefined): SerializedError | undefined {
  const text = h?.get(HEADER.error);
  if (!text) return undefined;
  try {
    return JSON.parse(text) as SerializedError;
  } catch {
    return undefined;
  }
}

export function parseData(data: Uint8Array): unknown {
  const text = new TextDecoder().decode(data);
  try {
    return JSON.parse(text);
  } catch {
    // Not taskport's: hand the text over; core checks it is JSON-compatible (a string is).
    return text;
  }
}
