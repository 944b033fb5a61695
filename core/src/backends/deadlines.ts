import { ConfigurationError, ConnectionError, DeadlineError } from "../errors.ts";
import { redactUrl } from "./redact.ts";

/**
 * How long a backend waits for its servers (engine, job store, outbox) before giving up on a call,
 * so that a server that accepts a connection and then never answers (a stalled proxy, a paused
 * container) fails the call instead of holding it forever.
 */
export interface Timeouts {
  /**
   * Opening a connection, up to the first answer (TCP, TLS, authentication, the first round trip).
   * Past it: `ConnectionError`. Default 10 000: a cold TLS handshake across regions takes well under
   * a second, a failed-over managed database a few seconds; ten leaves room for both and still
   * answers before the 30 s an HTTP request commonly gets from a load balancer.
   */
  readonly connectMs: number;
  /**
   * One call over an open connection (an enqueue, `check()`, a job store's read or write, a worker's
   * consume setup). Past it: `DeadlineError`, and the call is abandoned. Default 30 000: a batch of
   * thousands of jobs or a first-use schema setup takes seconds on a loaded server; thirty is far
   * past that and still short of a request's own limit. A worker's long poll is not bounded by it.
   */
  readonly operationMs: number;
  /**
   * `close()`: past it, what has not closed is abandoned (its sockets destroyed) and `close()`
   * returns. Default 10 000: a graceful quit is one round trip; ten seconds fits within a
   * container's usual stop grace period (Kubernetes gives 30 s) with room left for the app.
   */
  readonly closeMs: number;
}

export const DEFAULT_TIMEOUTS: Timeouts = Object.freeze({ connectMs: 10_000, operationMs: 30_000, closeMs: 10_000 });

/** The URL parameters every engine, store and outbox URL accepts, and the option each sets. */
export const TIMEOUT_URL_PARAMS: Readonly<Record<string, keyof Timeouts>> = Object.freeze({
  connectTimeoutMs: "connectMs",
  operationTimeoutMs: "operationMs",
  closeTimeoutMs: "closeMs",
});

/** Whether `key` is one of {@link TIMEOUT_URL_PARAMS}: URL parsers accept these beside their own. */
export function isTimeoutParam(key: string): boolean {
  return Object.hasOwn(TIMEOUT_URL_PARAMS, key);
}

/** `given` over the defaults, each a whole number of ms ≥ 1. */
export function resolveTimeouts(given: Partial<Timeouts> | undefined, origin: string): Timeouts {
  const out = { ...DEFAULT_TIMEOUTS };
  for (const key of ["connectMs", "operationMs", "closeMs"] as const) {
    const value = given?.[key];
    if (value === undefined) continue;
    if (!Number.isInteger(value) || value < 1) {
      throw new ConfigurationError(origin, `timeouts.${key} must be a whole number of ms ≥ 1, got ${value}.`);
    }
    out[key] = value;
  }
  return Object.freeze(out);
}

/** The timeouts a URL sets (`?connectTimeoutMs=…&operationTimeoutMs=…&closeTimeoutMs=…`). */
export function timeoutsFromUrl(url: URL, origin: string): Partial<Timeouts> {
  const out: { -readonly [K in keyof Timeouts]?: number } = {};
  for (const [param, key] of Object.entries(TIMEOUT_URL_PARAMS)) {
    const value = url.searchParams.get(param);
    if (value === null) continue;
    const number = Number(value);
    if (!/^\d+$/.test(value) || number < 1) {
      throw new ConfigurationError(origin, `option ${param} in ${redactUrl(url)} must be a whole number of ms ≥ 1, got "${value}".`);
    }
    out[key] = number;
  }
  return out;
}

/** A copy of `url` without the timeout parameters (for drivers that would refuse them). */
export function withoutTimeoutParams(url: URL): URL {
  const copy = new URL(url);
  for (const param of Object.keys(TIMEOUT_URL_PARAMS)) copy.searchParams.delete(param);
  return copy;
}

/** A copy of `url` with `timeouts` as URL parameters, where the URL does not set them itself. */
export function withTimeoutParams(url: URL, timeouts: Partial<Timeouts> | undefined): URL {
  if (!timeouts) return url;
  const copy = new URL(url);
  for (const [param, key] of Object.entries(TIMEOUT_URL_PARAMS)) {
    const value = timeouts[key];
    if (value !== undefined && !copy.searchParams.has(param)) copy.searchParams.set(param, String(value));
  }
  return copy;
}

/**
 * `work`, or the error `late()` makes once `ms` have passed without it settling. On the deadline
 * `abandon()` runs (destroy the socket, end the client) so the late call is cleaned up, not only
 * raced; the late call's own outcome is then ignored.
 */
export function withDeadline<T>(work: Promise<T> | (() => Promise<T>), ms: number, late: () => Error, abandon?: () => void): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  let pending: Promise<T>;
  try {
    pending = typeof work === "function" ? work() : work;
  } catch (error) {
    return Promise.reject(error);
  }
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      pending.catch(() => {}); // settles later, or never: nobody waits for it any more
      try {
        abandon?.();
      } catch {
        // Cleaning up after a silent server is best effort; the deadline is what the caller gets.
      }
      reject(late());
    }, ms);
  });
  return Promise.race([pending, timeout]).finally(() => clearTimeout(timer));
}

/** `work` bounded by `ms`; past it, a {@link DeadlineError} naming `operation` and `where`. */
export function deadline<T>(
  origin: string,
  operation: string,
  where: string,
  ms: number,
  work: Promise<T> | (() => Promise<T>),
  abandon?: () => void,
): Promise<T> {
  return withDeadline(work, ms, () => new DeadlineError(origin, operation, where, ms), abandon);
}

/** The `ConnectionError` for a connection that was not open (and answering) within `ms`. */
export function connectTimedOut(origin: string, operation: string, where: string, ms: number): ConnectionError {
  return new ConnectionError(
    origin,
    `could not connect to ${where} within ${ms} ms (while: ${operation}): the server did not answer. ` +
      "Is the host and port right, is it this engine's server, and is it up and reachable from here? Raise timeouts.connectMs (URL: connectTimeoutMs) if it is only slow.",
  );
}

/** `work` bounded by the connect timeout; past it, {@link connectTimedOut}. */
export function connectWithin<T>(
  origin: string,
  operation: string,
  where: string,
  ms: number,
  work: Promise<T> | (() => Promise<T>),
  abandon?: () => void,
): Promise<T> {
  return withDeadline(work, ms, () => connectTimedOut(origin, operation, where, ms), abandon);
}

/**
 * Run `close` within `ms`; past it, `abandon()` (destroy what is left) and return anyway: `close()`
 * always returns. Errors of a close are swallowed: there is nothing left to do about them.
 */
export async function closeWithin(ms: number, close: () => Promise<unknown>, abandon?: () => void): Promise<void> {
  await withDeadline(close, ms, () => new Error("close timed out"), abandon).catch(() => {});
}
