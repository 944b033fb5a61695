import type { JobStatus } from "../contract.ts";
import type { SerializedError } from "../errors.ts";
import type { Retention } from "../retention.ts";

/**
 * The memory engine indexes jobs by id only when one is first looked up (`getJob`, `cancel`, the
 * inspection calls): a job stored since then is `PENDING`, one indexed is `INDEXED`, and one
 * forgotten (past retention) before it was ever indexed is `FORGOTTEN`, skipped when indexing.
 */
export const PENDING = 0;
export const INDEXED = 1;
export const FORGOTTEN = 2;
export type IndexState = typeof PENDING | typeof INDEXED | typeof FORGOTTEN;

/**
 * One job held by the memory engine. A class with a fixed shape keeps a million of them compact;
 * the payload stays JSON text so every delivery gets a fresh copy the caller cannot mutate.
 */
export class MemoryJob {
  readonly id: string;
  readonly name: string;
  readonly queue: string;
  readonly payloadJson: string;
  readonly priority: number;
  readonly maxAttempts: number;
  readonly timeoutMs: number | undefined;
  headers: Readonly<Record<string, string>> | undefined = undefined;
  /** How long the job is kept once finished; without one, only `retainFinished` bounds it. */
  retention: Retention | undefined = undefined;
  readonly deduplicationKey: string | undefined;
  readonly enqueuedAt: number;
  /** Due time for the delay heap; 0 when ready. */
  runAt: number;
  /** Insertion order, for FIFO among equal due times. */
  seq: number;
  /** Enqueue order, fixed for good: the cursor of `listJobs`. */
  readonly order: number;
  /** When the job last became ready to run: the start of its wait, for queue lag. */
  readyAt = 0;
  status: JobStatus;
  /** Attempts started so far. */
  attempt = 0;
  /** Identifies the current delivery; a settlement with another lease is stale and ignored. */
  lease = 0;
  resultJson: string | undefined = undefined;
  error: SerializedError | undefined = undefined;
  progress: unknown = undefined;
  finishedAt = 0;
  /** Set when the job is cancelled while running: its signal is aborted, its outcome is `cancelled`. */
  abort: AbortController | undefined = undefined;
  /** Where the job stands in the adapter's index by id: see `IndexState`. */
  indexState: IndexState = PENDING;
  /** The consumer running the job, and the job's place in its list of jobs in flight; -1 when none. */
  holder: object | undefined = undefined;
  slot = -1;

  constructor(
    id: string,
    name: string,
    queue: string,
    payloadJson: string,
    priority: number,
    maxAttempts: number,
    timeoutMs: number | undefined,
    deduplicationKey: string | undefined,
    enqueuedAt: number,
    runAt: number,
    seq: number,
  ) {
    this.id = id;
    this.name = name;
    this.queue = queue;
    this.payloadJson = payloadJson;
    this.priority = priority;
    this.maxAttempts = maxAttempts;
    this.timeoutMs = timeoutMs;
    this.deduplicationKey = deduplicationKey;
    this.enqueuedAt = enqueuedAt;
    this.runAt = runAt;
    this.seq = seq;
    this.order = seq;
    this.status = runAt > 0 ? "scheduled" : "queued";
  }
}
