/**
 * What an engine can do, declared as data. Core validates every enqueue against it and the
 * conformance suite decides from it which groups run: one source of truth, so the two cannot drift.
 */
export interface Capabilities {
  /** Jobs can be scheduled for later (`delayMs`, `runAt`). */
  readonly delay: boolean;
  /**
   * Longest delay the engine holds natively, in ms; longer delays are re-delayed in hops by the
   * adapter, transparently. Absent means no native limit.
   */
  readonly maxNativeDelayMs?: number;
  /** `priority` is honoured: higher runs first. */
  readonly priority: boolean;
  /** The engine stores status and result: `handle.refresh()`, `handle.wait()`, `getJob`. */
  readonly results: boolean;
  /** A queued or delayed job can be cancelled before it starts. */
  readonly cancel: boolean;
  /**
   * A running job can be cancelled too: its handler's `ctx.signal` is aborted and the job ends as
   * `cancelled`, not retried. Default `false`.
   */
  readonly cancelRunning?: boolean;
  /**
   * What a `deduplicationKey` means, or `false` when the engine has none. While a key is held, a
   * second enqueue with it (in the same queue) stores nothing and returns the holder's id.
   * - `"until-finished"`: taskport's meaning, and the job store's: held from enqueue until the job
   *   has finished for good (succeeded, failed for good, cancelled), then free again.
   * - `"while-stored"`: held while the engine keeps the job's record, which may outlive the job
   *   (an engine that keeps failed jobs keeps their keys).
   * - `"window"`: held for `deduplicationWindowMs` after the first enqueue, whatever the job does
   *   (SQS FIFO: 5 minutes).
   */
  readonly deduplication: DeduplicationMeaning | false;
  /** With `deduplication: "window"`: how long a key is held, in ms. */
  readonly deduplicationWindowMs?: number;
  /** A batch is enqueued in one engine call (or a few), not one call per job. */
  readonly nativeBulkEnqueue: boolean;
  /** `transaction` enqueues commit or roll back with the caller's database transaction. */
  readonly transactions: boolean;
  /**
   * Order in which jobs of one queue and one priority start: `fifo` when the engine guarantees it
   * (one consumer, no retries in between), `none` when it does not.
   */
  readonly ordering: "fifo" | "none";
  /** `ctx.progress(value)` is stored and readable through the job's handle. */
  readonly progress: boolean;
  /** Jobs that fail for good are kept in a place an operator can inspect and replay from. */
  readonly deadLetter: boolean;
  /**
   * A delivery after a crash (the worker running the job died or lost its connection) counts as an
   * attempt: `ctx.attempt` is one higher for each crash. A job whose last attempt crashed is run
   * once more (a crashed job must be delivered again), as attempt `maxAttempts + 1`; if that start
   * dies too, the job fails for good as `WorkerLostError` (dead letters; a `failed` event where a
   * worker sees it) instead of killing workers forever. When false, the engine does not count
   * crashes, or not one for one: `ctx.attempt` after a crash may be the interrupted attempt's or
   * higher, never past `maxAttempts`, and a job that kills its worker every time comes back until
   * the engine's own limit, which the adapter's README names.
   */
  readonly crashCountsAsAttempt: boolean;
  /** Finished jobs are deleted once past the backend's `retention`, by the engine itself. Default `false`. */
  readonly retention?: boolean;
  /** `headers` travel with each job to its handler (`ctx.headers`). Default `false`. */
  readonly headers?: boolean;
  /** `backend.stats()`: counts per status and the age of the oldest waiting job, per queue. Default `false`. */
  readonly stats?: boolean;
  /** `backend.jobs()`: a queue's jobs, by status, a page at a time. Default `false`. */
  readonly listJobs?: boolean;
  /** `backend.redrive()`: jobs that failed for good run again, from the dead letters. Default `false`. */
  readonly redrive?: boolean;
  /** `backend.discardDeadLetters()`: jobs that failed for good are removed from the dead letters, never to run. Default `false`. */
  readonly discardDeadLetters?: boolean;
  /** `backend.pause()` / `resume()`: workers in every process stop taking a queue's jobs, and start again. Default `false`. */
  readonly pause?: boolean;
  /** Largest payload in bytes of JSON text; larger payloads raise `PayloadTooLargeError`. */
  readonly maxPayloadBytes?: number;
}

/** The meanings a deduplication key can have; see {@link Capabilities.deduplication}. */
export type DeduplicationMeaning = "until-finished" | "while-stored" | "window";

/** Every capability: the memory engine's, and a base for test adapters to switch some off. */
export const ALL_CAPABILITIES: Capabilities = Object.freeze({
  delay: true,
  priority: true,
  results: true,
  cancel: true,
  cancelRunning: true,
  deduplication: "until-finished",
  nativeBulkEnqueue: true,
  transactions: true,
  ordering: "fifo",
  progress: true,
  deadLetter: true,
  crashCountsAsAttempt: true,
  headers: true,
  retention: true,
  stats: true,
  listJobs: true,
  redrive: true,
  discardDeadLetters: true,
  pause: true,
});

/** A feature that an enqueue can ask for, named as in {@link Capabilities}. */
export type Feature = "delay" | "priority" | "results" | "cancel" | "deduplication" | "transactions" | "progress" | "headers";

/** The range of `priority`: one integer range for every engine, higher runs first. */
export const PRIORITY_MIN = -100;
export const PRIORITY_MAX = 100;
export const PRIORITY_DEFAULT = 0;

/**
 * Map taskport's priority onto an engine's integer range `[low, high]`, preserving order.
 * `invert` is for engines where a lower number runs first (BullMQ: 1 is highest).
 */
export function mapPriority(priority: number, low: number, high: number, invert = false): number {
  const fraction = (priority - PRIORITY_MIN) / (PRIORITY_MAX - PRIORITY_MIN);
  const scaled = Math.round(low + fraction * (high - low));
  return invert ? high + low - scaled : scaled;
}
