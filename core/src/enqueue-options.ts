import { PRIORITY_MAX, PRIORITY_MIN } from "./capabilities.ts";
import { ValidationError } from "./errors.ts";

export const MAX_QUEUE_NAME_LENGTH = 100;
export const MAX_DEDUPLICATION_KEY_LENGTH = 256;

/** Per-call options of `enqueue`. Each one the engine cannot honour raises `UnsupportedFeatureError`. */
export interface EnqueueOptions {
  /** Start no earlier than this many ms from now. */
  readonly delayMs?: number;
  /** Start no earlier than this time. Exclusive with `delayMs`. */
  readonly runAt?: Date | number;
  /** -100…100, higher first. */
  readonly priority?: number;
  readonly queue?: string;
  /** While a job with this key is queued, scheduled or running, enqueueing another is a no-op. */
  readonly deduplicationKey?: string;
  /** Attempts in all, including the first; overrides the task's retry policy. */
  readonly attempts?: number;
  /** Overrides the task's timeout, in ms. */
  readonly timeoutMs?: number;
  /** The caller's database transaction (engines with `capabilities.transactions`). */
  readonly transaction?: unknown;
  /**
   * Strings that travel with the job and reach the handler as `ctx.headers` (trace context,
   * correlation ids): at most 32, names of letters, digits, `-`, `_`, `.`, 4 KiB in all.
   */
  readonly headers?: Readonly<Record<string, string>>;
}

export const MAX_HEADERS = 32;
export const MAX_HEADER_BYTES = 4_096;

/** Check the shape of options; engine support is checked later, against capabilities. */
export function validateEnqueueOptions(options: EnqueueOptions | undefined, where: string): void {
  if (!options) return;
  const { delayMs, runAt, priority, queue, deduplicationKey, attempts, timeoutMs } = options;
  if (delayMs !== undefined && !(Number.isFinite(delayMs) && delayMs >= 0)) {
    invalid(where, `delayMs must be a finite number ≥ 0, got ${delayMs}`, "use 0 (or omit it) to run now");
  }
  if (runAt !== undefined) {
    const time = runAt instanceof Date ? runAt.getTime() : runAt;
    if (typeof time !== "number" || !Number.isFinite(time)) {
      invalid(where, `runAt must be a Date or epoch milliseconds, got ${String(runAt)}`, "pass new Date(...) or Date.now() + ms");
    }
    if (delayMs !== undefined) invalid(where, "delayMs and runAt were both given", "pass one of them");
  }
  if (priority !== undefined && !(Number.isInteger(priority) && priority >= PRIORITY_MIN && priority <= PRIORITY_MAX)) {
    invalid(
      where,
      `priority must be an integer from ${PRIORITY_MIN} to ${PRIORITY_MAX}, got ${priority}`,
      "higher runs first; 0 is the default",
    );
  }
  if (queue !== undefined) validateQueueName(queue, where);
  if (deduplicationKey !== undefined) {
    if (typeof deduplicationKey !== "string" || deduplicationKey === "" || deduplicationKey.length > MAX_DEDUPLICATION_KEY_LENGTH) {
      invalid(
        where,
        `deduplicationKey must be a non-empty string of at most ${MAX_DEDUPLICATION_KEY_LENGTH} characters`,
        "hash longer keys",
      );
    }
  }
  if (attempts !== undefined && !(Number.isInteger(attempts) && attempts >= 1)) {
    invalid(where, `attempts must be an integer ≥ 1, got ${attempts}`, "1 means no retry");
  }
  if (timeoutMs !== undefined && !(Number.isFinite(timeoutMs) && timeoutMs > 0)) {
    invalid(where, `timeoutMs must be a number > 0, got ${timeoutMs}`, "omit it for no timeout");
  }
  if (options.headers !== undefined) validateHeaders(options.headers, where);
}

function validateHeaders(headers: unknown, where: string): void {
  if (typeof headers !== "object" || headers === null || Array.isArray(headers)) {
    invalid(where, "headers must be an object of strings", 'pass e.g. { "x-request-id": "abc" }');
  }
  const entries = Object.entries(headers as object);
  if (entries.length > MAX_HEADERS) invalid(where, `${entries.length} headers given`, `send at most ${MAX_HEADERS}`);
  let bytes = 0;
  for (const [name, value] of entries) {
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(name))
      invalid(where, `header name ${JSON.stringify(name)} is not valid`, 'use 1–64 letters, digits, "-", "_" or "."');
    if (typeof value !== "string") invalid(where, `header ${name} is ${typeof value}, not a string`, "send its text");
    bytes += name.length + Buffer.byteLength(value);
  }
  if (bytes > MAX_HEADER_BYTES)
    invalid(where, `headers take ${bytes} bytes`, `keep them under ${MAX_HEADER_BYTES}; put data in the payload`);
}

export function validateQueueName(queue: unknown, where: string): void {
  if (typeof queue !== "string" || !/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(queue) || queue.length > MAX_QUEUE_NAME_LENGTH) {
    invalid(
      where,
      `queue name ${JSON.stringify(queue)} is not valid`,
      `use 1–${MAX_QUEUE_NAME_LENGTH} letters, digits, "_", "-" or ".", starting with a letter or digit`,
    );
  }
}

function invalid(where: string, problem: string, hint: string): never {
  throw new ValidationError("core", `${where}: ${problem}; ${hint}. Nothing was enqueued.`);
}
