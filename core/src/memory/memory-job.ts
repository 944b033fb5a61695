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
  /** How long the job is kept once finished; without one, only `retainFinished` bounds it. */
  retention: Retention | undefined = undefined;
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
  finishedAt = 0;
  /** Where the job stands in the adapter's index by id: see `IndexState`. */
  indexState: IndexState = PENDING;
  /** The job's place in its consumer's list of jobs in flight; -1 when none. */
  slot = -1;
  /**
   * The fields most jobs never set, in an object made for those that do: a backlog of a million
   * jobs is held (and, young, copied by the garbage collector) at a fifth less.
   */
  #rare: RareFields | undefined;

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
    if (timeoutMs !== undefined || deduplicationKey !== undefined) this.#rare = new RareFields(timeoutMs, deduplicationKey);
    this.enqueuedAt = enqueuedAt;
    this.runAt = runAt;
    this.seq = seq;
    this.order = seq;
    this.status = runAt > 0 ? "scheduled" : "queued";
  }

  get timeoutMs(): number | undefined {
    return this.#rare?.timeoutMs;
  }
  get deduplicationKey(): string | undefined {
    return this.#rare?.deduplicationKey;
  }
  get headers(): Readonly<Record<string, string>> | undefined {
    return this.#rare?.headers;
  }
  set headers(value: Readonly<Record<string, string>> | undefined) {
    if (value !== undefined || this.#rare) this.#extra().headers = value;
  }
  get error(): SerializedError | undefined {
    return this.#rare?.error;
  }
  set error(value: SerializedError | undefined) {
    if (value !== undefined || this.#rare) this.#extra().error = value;
  }
  get progress(): unknown {
    return this.#rare?.progress;
  }
  set progress(value: unknown) {
    if (value !== undefined || this.#rare) this.#extra().progress = value;
  }
  /** Set when the job is cancelled while running: its signal is aborted, its outcome is `cancelled`. */
  get abort(): AbortController | undefined {
    return this.#rare?.abort;
  }
  set abort(value: AbortController | undefined) {
    if (value !== undefined || this.#rare) this.#extra().abort = value;
  }

  #extra(): RareFields {
    this.#rare ??= new RareFields(undefined, undefined);
    return this.#rare;
  }
}

class RareFields {
  readonly timeoutMs: number | undefined;
  readonly deduplicationKey: string | undefined;
  headers: Readonly<Record<string, string>> | undefined = undefined;
  error: SerializedError | undefined = undefined;
  progress: unknown = undefined;
  abort: AbortController | undefined = undefined;

  constructor(timeoutMs: number | undefined, deduplicationKey: string | undefined) {
    this.timeoutMs = timeoutMs;
    this.deduplicationKey = deduplicationKey;
  }
}
