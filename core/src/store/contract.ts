/**
 * The job store contract: a companion beside an engine that keeps what the engine cannot — each
 * job's status, result, progress, cancellation and deduplication key. A broker keeps messages, not
 * outcomes; with a store, `job.wait()`, `cancel()`, deduplication and progress mean the same on
 * every engine. Core calls a store only for what the engine itself lacks
 * (see `withJobStore`), always with batches, so one write serves many jobs.
 *
 * Like the adapter contract: construction opens no connection, every method may be called
 * concurrently, and errors are `TaskportError`s whose messages start with the store's name and
 * never contain a password.
 */
import type { CheckProblem, JobChange, JobInfo, JobListOptions, JobPage, NewJob, QueueStats } from "../contract.ts";
import type { SerializedError } from "../errors.ts";
import type { Retention } from "../retention.ts";

export type { Retention };

/** What `record` did with one job, in the order of the batch. */
export type RecordReceipt =
  | { readonly id: string; readonly deduplicated?: false }
  /** The key was held: `id` is the holder's, and nothing was recorded for this job. */
  | { readonly id: string; readonly deduplicated: true };

/** A delivery about to run, as `begin` receives it. */
export interface JobStart {
  readonly id: string;
  readonly name: string;
  readonly queue: string;
  /** The engine's attempt number (1 for the first run); the store's own count may be higher. */
  readonly attempt: number;
  readonly maxAttempts: number;
}

/** What `begin` found, per job. */
export type StartDecision =
  /** Run it; `attempt` counts every earlier start the store saw, crashes included. */
  | { readonly run: true; readonly attempt: number }
  /**
   * Do not run it: the job already finished for good (a redelivery after the store was settled but
   * before the engine was), or was cancelled before it started. `info` says how it ended.
   */
  | { readonly run: false; readonly info: JobInfo };

/** How one attempt ended, as `settle` records it. */
export type JobOutcome =
  | { readonly id: string; readonly status: "succeeded"; readonly resultJson: string }
  /** `retryAt` (epoch ms) when the job runs again; absent when it failed for good. */
  | { readonly id: string; readonly status: "failed"; readonly error: SerializedError; readonly retryAt?: number }
  | { readonly id: string; readonly status: "cancelled" }
  /**
   * Given back unrun to the engine by a worker shutting down past its grace period: queued again,
   * and this start does not count as an attempt (a deploy must not use up a job's attempts; a
   * crash, which writes nothing, does).
   */
  | { readonly id: string; readonly status: "returned" };

/** What `cancel` did. */
export type CancelOutcome =
  /** The job had not started: it never will. */
  | "cancelled"
  /** The job is running: its worker was asked to abort it, and it will end as cancelled. */
  | "requested"
  /** Nothing to cancel: finished already, or unknown. */
  | false;

export interface JobStore {
  /** Short name used in messages: `memory-store`, `postgres-store`, `redis-store`. */
  readonly name: string;

  /**
   * Record a batch of jobs about to be handed to the engine, in one write where the store can,
   * atomically per job. A job whose `deduplicationKey` is held (in its queue) by a job that has not
   * finished for good is not recorded: its receipt names the holder. Two racing batches with one
   * key record one job. A new record is *pending* until `confirm`: a pending record older than
   * `claimMs` holds no key (its enqueue died before the engine had it) and `sweep` removes it.
   * A job whose id is already recorded (other than by such a dead claim) is left as it is: its
   * receipt names itself as the holder, so a repeat (a relay handing a batch over again, a
   * schedule's tick enqueued by every worker) never sends a finished job back to `queued`.
   */
  record(jobs: readonly NewJob[], claimMs: number): Promise<RecordReceipt[]>;

  /** The engine holds these jobs now: they are no longer pending. */
  confirm(ids: readonly string[]): Promise<void>;

  /** The engine refused these jobs: delete their records and release their keys. */
  forget(ids: readonly string[]): Promise<void>;

  /**
   * Mark deliveries as running and count the start as an attempt. A job cancelled before it started,
   * or already finished for good, is not to be run. A job the store has no record of (expired by
   * retention, or enqueued before the store was configured) is recorded as running.
   */
  begin(starts: readonly JobStart[]): Promise<StartDecision[]>;

  /**
   * Record how attempts ended. A final outcome (succeeded, failed without `retryAt`, cancelled)
   * releases the job's deduplication key and starts its retention; a retry keeps the key.
   * A cancel requested while the job ran wins over the attempt's own outcome.
   * `retention` is the one `sweep` will be given: a store that expires records itself (a TTL) may
   * set each finished job's expiry here, so records go even when no worker sweeps; core always
   * passes it, and a store that only sweeps ignores it.
   */
  settle(outcomes: readonly JobOutcome[], retention?: Retention): Promise<void>;

  /** Store a running job's progress (JSON text), readable through `get`. */
  progress(id: string, valueJson: string): Promise<void>;

  /** Read a job back; `null` when the store has no record of it (or only a pending one that died). */
  get(id: string): Promise<JobInfo | null>;

  /**
   * Cancel a job that has not finished. A job cancelled before it started is final at once, so
   * `retention` starts as in `settle`.
   */
  cancel(id: string, retention?: Retention): Promise<CancelOutcome>;

  /**
   * Report changes made by any process: final statuses, and cancels of running jobs. Used to wake
   * `job.wait()` and to abort a cancelled job's handler. Resolves once listening; the returned
   * function stops it.
   */
  watch(listener: (change: JobChange) => void): Promise<() => Promise<void>>;

  /**
   * Delete finished jobs past their retention, and pending records whose claim ran out; returns how
   * many went. Called now and then by workers; a store that expires records itself may do less.
   */
  sweep(retention: Retention): Promise<number>;

  /**
   * Optional: queues at a glance, from the store's records, for an engine that cannot count its
   * own jobs (a broker cannot count running jobs or age its oldest message). Per queue (every
   * queue the store has records of when `queues` is absent; a queue asked for that has none
   * reports zeros): how many records are in each status — all six present, 0 where none —
   * reading a scheduled job whose time has come as queued (as `get` does); finished jobs count
   * until retention removes them, and a record whose enqueue died (its claim ran out) does not
   * count, or at most until the next `sweep`. `oldestQueuedAgeMs`: how long the queued job that
   * has waited longest has waited since it could start (its enqueue, or its `runAt` when that
   * came later: a delay, a retry's backoff); absent when none is queued. `paused` is never set.
   * Only meaningful when every job of the queue goes through the store (`withJobStore` declares
   * `stats` only then).
   */
  stats?(queues?: readonly string[]): Promise<QueueStats[]>;

  /**
   * Optional: a page of `queue`'s records, most recently recorded first, `status` read as in
   * `stats`. The cursor is the store's own text; a page past the last has none.
   */
  listJobs?(queue: string, options: JobListOptions): Promise<JobPage>;

  /** Configuration and reachability problems; an empty list means all is well. */
  check(): Promise<CheckProblem[]>;

  /** Release every connection. Idempotent. */
  close(): Promise<void>;
}

/** Builds a store from a parsed URL; the store packages export one as `createStore`. */
export type StoreFactory = (url: URL) => JobStore | Promise<JobStore>;
