/**
 * The adapter contract: what an engine adapter implements. Keep the required part tiny —
 * `enqueue`, `consume`, `close` — and implement an optional method only where the engine can
 * honour it. Core does the rest (validation, retries, timeouts, events) the same way for all.
 */
import type { Capabilities } from "./capabilities.ts";
import type { SerializedError } from "./errors.ts";
import type { JsonValue } from "./json.ts";
import type { Retention } from "./retention.ts";

/** A job as core hands it to an adapter: validated, serialized, ready to store. */
export interface NewJob {
  /** Unique id chosen by core (a UUID). Adapters use it as the engine's job id where they can. */
  readonly id: string;
  /** The task name; a worker maps it to a handler. */
  readonly name: string;
  readonly queue: string;
  readonly payload: JsonValue;
  /** `payload` as JSON text, already computed by core's validation: reuse it rather than stringify again. */
  readonly payloadJson: string;
  /** Taskport priority, `PRIORITY_MIN`…`PRIORITY_MAX`, higher first. */
  readonly priority: number;
  /** Epoch ms before which the job must not start; absent means now. */
  readonly runAt?: number;
  /** Attempts in all, including the first. */
  readonly maxAttempts: number;
  readonly deduplicationKey?: string;
  /** Handler timeout in ms, when the task or call set one. */
  readonly timeoutMs?: number;
  /**
   * Strings that travel with the job to its handler (trace context, correlation ids); absent when
   * none were set. Adapters keep them where the engine has message headers or attributes, inside
   * the job record otherwise. Needs `capabilities.headers`.
   */
  readonly headers?: Readonly<Record<string, string>>;
  /** Epoch ms when core accepted the job. */
  readonly enqueuedAt: number;
}

/** Options for one `enqueue` call that apply to the whole batch. */
export interface EnqueueContext {
  /** An engine-specific transaction object; only passed when `capabilities.transactions`. */
  readonly transaction?: unknown;
  /**
   * How long the engine keeps these jobs once they finish, where it keeps them (for `getJob`,
   * dead letters): adapters map it onto the engine's own expiry. Core always passes the backend's.
   */
  readonly retention?: Retention;
  /**
   * These jobs may have been enqueued before, by an enqueue that died before it was confirmed (an
   * outbox relay hands a batch over again): a job store's record under a job's own id must not keep
   * it from the engine. Engines that keep one job per id absorb the repeat.
   */
  readonly repeated?: boolean;
}

/** What the engine did with one job of a batch. */
export interface EnqueueReceipt {
  /** The job's id in the engine; for a deduplicated job, the id of the job that already existed. */
  readonly id: string;
  /** True when the engine kept an existing job instead (deduplication). */
  readonly deduplicated?: boolean;
}

/** A job delivered to a worker. */
export interface Delivery {
  readonly id: string;
  readonly name: string;
  readonly queue: string;
  /** Parsed payload; core checks it is JSON before the handler sees it. */
  readonly payload: unknown;
  /**
   * 1 for the first run, 2 for the first retry, … A redelivery after a crash counts as an attempt
   * where the engine can count it (`capabilities.crashCountsAsAttempt`); where it cannot, say so in
   * the adapter's README (a job that kills its worker every time is then redelivered until the
   * engine's own limit). Only crashes count: a job handed back unstarted (a worker stopping) must
   * come back with the attempt it had. A crashed last attempt gets one extra start (`maxAttempts + 1`);
   * past that, core fails the job without running it as `WorkerLostError`, so an engine that does
   * not count crashes one for one must stop at `maxAttempts`.
   */
  readonly attempt: number;
  readonly maxAttempts: number;
  readonly timeoutMs?: number;
  /** The job's headers, as enqueued; absent when it has none. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Aborted by the adapter when it loses the job (lease lost, cancelled while running). */
  readonly signal?: AbortSignal;
  /** Present when the engine stores progress. */
  progress?(value: JsonValue): Promise<void>;
}

/**
 * How a worker settled a delivery; the adapter makes it durable before taking the job as done.
 *
 * `slotFreed` is present when the handler's body runs on after the settlement: it ignored its
 * signal past its timeout, and core settled the job at the timeout. The body keeps its concurrency
 * slot until `slotFreed` resolves (it never rejects). Settle the job at once, but take no new job
 * into that slot before: a job fetched for it would wait in this worker, held from every other.
 */
export type Settlement = (
  | { readonly status: "succeeded"; readonly result: JsonValue; readonly resultJson: string }
  | {
      readonly status: "failed";
      readonly error: SerializedError;
      /** Run again after this many ms; absent means the job has failed for good. */
      readonly retryInMs?: number;
    }
) & { readonly slotFreed?: Promise<void> };

/** Called once per delivery; resolves to how it was settled. It never rejects. */
export type DeliveryHandler = (delivery: Delivery) => Promise<Settlement>;

export interface ConsumeOptions {
  readonly queues: readonly string[];
  /** At most this many handler calls at once, across all `queues`. */
  readonly concurrency: number;
  /**
   * Report a problem outside any one job (a lost connection, a failed poll). The worker emits it as
   * an `error` event. Report it and keep going — reconnect, poll again — rather than throw: a
   * worker must never stop silently.
   */
  readonly onError?: (error: Error) => void;
  /**
   * The backend's retention, for adapters that delete finished jobs from the worker's side (a
   * sweep, a job store's settle). Core always passes the backend's.
   */
  readonly retention?: Retention;
}

/** A running consumption started by `consume`. */
export interface Consumer {
  /**
   * Stop taking new jobs and resolve once every delivery already handed to the handler has been
   * settled. Idempotent. Jobs received from the engine but not yet handed over must go back to
   * the engine at once.
   */
  stop(): Promise<void>;
  /**
   * Give up at once: drop connections without settling what is in flight, as a crashed process
   * would. Those jobs are delivered again (at-least-once). Used after a grace period runs out.
   */
  abandon(): Promise<void>;
}

/** Status of a stored job, the same for every engine. */
export type JobStatus = "scheduled" | "queued" | "running" | "succeeded" | "failed" | "cancelled";

/** A stored job as `getJob` reads it back. */
export interface JobInfo {
  readonly id: string;
  readonly name: string;
  readonly queue: string;
  readonly status: JobStatus;
  readonly payload: unknown;
  readonly attempt: number;
  readonly maxAttempts: number;
  readonly result?: unknown;
  readonly error?: SerializedError;
  readonly progress?: unknown;
  readonly runAt?: number;
  readonly enqueuedAt?: number;
  readonly finishedAt?: number;
}

/** A queue at a glance, as `stats` reads it. */
export interface QueueStats {
  readonly queue: string;
  /**
   * Jobs per status. `failed` counts the dead letters; a status the engine does not keep (a broker
   * forgets succeeded jobs) is absent rather than 0.
   */
  readonly counts: Partial<Record<JobStatus, number>>;
  /** How long the oldest job that could start now has waited, in ms; absent when none waits. */
  readonly oldestQueuedAgeMs?: number;
  /** True while the queue is paused. */
  readonly paused?: boolean;
}

/** Which page of a queue's jobs `listJobs` reads. */
export interface JobListOptions {
  /** Only jobs in this status; all statuses the engine keeps when absent. */
  readonly status?: JobStatus;
  readonly limit: number;
  /** Where the previous page ended (its `cursor`); the first page when absent. */
  readonly cursor?: string;
}

/** One page of jobs, newest first; `cursor` is absent on the last page. */
export interface JobPage {
  readonly jobs: JobInfo[];
  readonly cursor?: string;
}

/** A change to a job, as `watch` reports it. */
export interface JobChange {
  readonly id: string;
  readonly status: JobStatus;
  /** True when a cancel was asked for while the job ran: its worker must abort it. */
  readonly cancelRequested?: boolean;
}

/** One problem found by `check()`, written for a human, with what to do. */
export interface CheckProblem {
  readonly message: string;
}

/**
 * An engine adapter. Construction must open no connection: the first call that needs the engine
 * connects. Every method may be called concurrently.
 */
export interface Adapter {
  /** Short engine name used in messages: `memory`, `bullmq`, `pg-boss`, … */
  readonly name: string;
  readonly capabilities: Capabilities;

  /**
   * Store a batch of jobs. Resolves once the engine holds every job durably, with one receipt per
   * job in order. Rejects with a `TaskportError` when nothing or not everything was stored; a
   * partial failure must name which jobs were stored (`BulkEnqueueError`).
   */
  enqueue(jobs: readonly NewJob[], context: EnqueueContext): Promise<EnqueueReceipt[]>;

  /**
   * Deliver jobs from `queues` to `handler`, at most `concurrency` at once, until stopped. A
   * worker holds no more jobs than it has free slots: a settlement's `slotFreed` keeps its slot.
   * A job must reach the handler no earlier than its `runAt`. A job whose handler never settles
   * (the process died) must be delivered again. Delayed jobs stay in the engine, never in memory.
   */
  consume(options: ConsumeOptions, handler: DeliveryHandler): Promise<Consumer>;

  /** Release every connection. Idempotent. Consumers must have been stopped first. */
  close(): Promise<void>;

  /** Read a job back; `null` when the engine has no record of it. Needs `capabilities.results`. */
  getJob?(id: string, queue: string): Promise<JobInfo | null>;

  /** Cancel a job that has not started; true when it was cancelled. Needs `capabilities.cancel`. */
  cancel?(id: string, queue: string): Promise<boolean>;

  /** Jobs of `queue` that failed for good, newest first. Needs `capabilities.deadLetter`. */
  listDeadLetters?(queue: string, limit: number): Promise<JobInfo[]>;

  /** Report configuration and reachability problems; an empty list means all is well. */
  check?(): Promise<CheckProblem[]>;

  /**
   * Counts per status of `queues`; without `queues`, of every queue the engine can list (one that
   * cannot list queues reports those this process has used). Needs `capabilities.stats`.
   */
  stats?(queues?: readonly string[]): Promise<QueueStats[]>;

  /** A page of `queue`'s jobs, newest first. Needs `capabilities.listJobs`. */
  listJobs?(queue: string, options: JobListOptions): Promise<JobPage>;

  /**
   * Run dead letters of `queue` again (those with `ids`, or all): each is queued with its attempts
   * starting over and leaves the dead letters. Resolves to how many were sent back. Needs
   * `capabilities.redrive`.
   */
  redrive?(queue: string, ids?: readonly string[]): Promise<number>;

  /**
   * Remove dead letters of `queue` for good (those with `ids`, or all): each leaves the dead letters,
   * is never run again, and the engine forgets it, so `getJob` then resolves to `null`. Ids that are
   * not dead letters of `queue` are ignored. Resolves to how many were discarded. Needs
   * `capabilities.discardDeadLetters`.
   */
  discardDeadLetters?(queue: string, ids?: readonly string[]): Promise<number>;

  /**
   * Stop workers in every process from taking `queue`'s jobs (running ones finish; enqueues are still
   * accepted), until `resume`. Needs `capabilities.pause`.
   */
  pause?(queue: string): Promise<void>;
  resume?(queue: string): Promise<void>;

  /**
   * Report jobs reaching a final status (and cancels of running jobs), made by any process, where
   * the engine can: `job.wait()` then wakes at once instead of polling. Resolves once listening;
   * the returned function stops it.
   */
  watch?(listener: (change: JobChange) => void): Promise<() => Promise<void>>;
}

/** Builds an adapter from a parsed URL; registered per URL scheme. */
export type AdapterFactory = (url: URL) => Adapter | Promise<Adapter>;
