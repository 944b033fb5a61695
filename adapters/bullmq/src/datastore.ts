import type { CheckProblem, JobInfo, TaskportError } from "@taskport/core";
import type { Processor, Queue, Worker, WorkerOptions } from "bullmq";

/** When a job was enqueued and its delay, as BullMQ stores them. */
export interface EnqueueTime {
  readonly timestamp: number;
  readonly delay: number;
}

/**
 * Where BullMQ keeps its queues: Redis (its default) or PostgreSQL (its own backend, BullMQ ≥ 6.7).
 * The adapter speaks BullMQ's API on both; this is everything it needs beyond that API — the
 * connection, taskport's cancelled records beside BullMQ's, and the few reads BullMQ has no call
 * for. Nothing in it connects before `connect()`.
 */
export interface Datastore {
  /** The server, for messages: `127.0.0.1:6379/0`, `127.0.0.1:5432/app (schema bullmq)`. */
  readonly where: string;
  /** Job data is stored as jsonb (PostgreSQL): the payload and headers must travel as JSON text. */
  readonly jsonAsText: boolean;
  /**
   * How finished jobs go once past the backend's retention: `"per-job"`, each job carries it as
   * BullMQ's age limits, applied as jobs finish; `"sweep"`, workers delete them every so often
   * (./retention-sweep.ts), where BullMQ's age limits cost too much on every finish.
   */
  readonly retentionBy: "per-job" | "sweep";
  /** Open the shared connection, once; the first error explained. */
  connect(): Promise<void>;
  /** A BullMQ Queue on this store, sharing the connection. Call after `connect()`. */
  queue(name: string): Queue;
  /** A BullMQ Worker with connections of its own, so that dropping them is a crash. */
  worker(queue: string, processor: Processor, options: Omit<WorkerOptions, "connection">): Worker;
  /** The record of a job cancelled in `queue`, or null. */
  cancelled(queue: string, id: string): Promise<JobInfo | null>;
  recordCancelled(queue: string, info: JobInfo): Promise<void>;
  cancelledCount(queue: string): Promise<number>;
  cancelledJobs(queue: string): Promise<JobInfo[]>;
  /** Names of the queues that hold anything. */
  listQueues(): Promise<string[]>;
  /** Enqueue times of these jobs; a job gone meanwhile is left out. */
  enqueueTimes(queue: string, ids: readonly string[]): Promise<Map<string, EnqueueTime>>;
  /** Clear the attempt and stall counts of a failed job before it is retried. */
  resetAttempts(queue: string, id: string): Promise<void>;
  /** Problems with the server's configuration, once connected. */
  problems(): Promise<CheckProblem[]>;
  /** An engine error as a taskport error that says what to do, secrets removed. */
  explain(error: unknown): TaskportError;
  /** A call went unanswered past its deadline: drop the connection so the next one is fresh. */
  dropConnection(): void;
  /** Close the shared connection; past `closeMs`, `forceClose()` drops it. */
  close(): Promise<void>;
  forceClose(): void;
}
