import type { Adapter, EnqueueContext, NewJob } from "../contract.ts";
import { BulkEnqueueError } from "../errors.ts";
import type { Retention } from "../retention.ts";
import type { Outbox, OutboxClaim } from "./contract.ts";

export interface RelayOptions {
  /** Jobs claimed and handed to the engine at once. Default 500. */
  readonly batchSize?: number;
  /**
   * Look for committed rows this often even when no notification came (a database that cannot
   * notify, a notification lost while the listening connection was down). Default 1 000 ms.
   */
  readonly pollMs?: number;
  /** Longest pause after an error before trying again; pauses start at 100 ms and double. Default 10 000 ms. */
  readonly maxBackoffMs?: number;
  /** The backend's retention, handed to the engine with each batch, as a direct enqueue would. */
  readonly retention?: Retention;
}

/** What a relay has done so far, for logs and tests. */
export interface RelayStats {
  /** Jobs the engine confirmed and the outbox deleted. */
  readonly relayed: number;
  /** Errors met (each reported and retried). */
  readonly errors: number;
}

const FIRST_BACKOFF_MS = 100;

/**
 * Moves committed jobs from an outbox to an engine, engine-neutrally: claims a batch of its
 * target's rows, enqueues them on the engine with the same job ids and options (a delay travels as
 * its absolute `runAt`), and deletes them once the engine confirmed. Woken by the outbox at each
 * commit, and polls as well. An error (the database or the engine gone) is reported and retried
 * after a growing pause; nothing is lost, since rows are deleted only after the engine has them.
 * Several relays on one outbox are safe: each claim holds its own rows.
 *
 * A relay that dies between the engine's confirmation and the delete leaves its rows to be handed
 * over again (at least once): engines that deduplicate by job id (BullMQ, bee-queue, pg-boss, SQS
 * FIFO within 5 minutes) keep one job; on the others the job may run twice.
 */
export class Relay {
  readonly #outbox: Outbox;
  readonly #engine: Adapter;
  readonly #target: string;
  readonly #batchSize: number;
  readonly #pollMs: number;
  readonly #maxBackoffMs: number;
  readonly #context: EnqueueContext;
  readonly #onError: (error: Error) => void;
  #loop: Promise<void> | undefined;
  #stopped = false;
  /** Set by a wake-up: rows may have been committed since the last claim began (see `#claim`). */
  #woken = false;
  #resume: (() => void) | undefined;
  #stopListening: (() => Promise<void>) | undefined;
  #relayed = 0;
  #errors = 0;

  constructor(outbox: Outbox, engine: Adapter, target: string, onError: (error: Error) => void, options: RelayOptions = {}) {
    this.#outbox = outbox;
    this.#engine = engine;
    this.#target = target;
    this.#onError = onError;
    this.#batchSize = options.batchSize ?? 500;
    this.#pollMs = options.pollMs ?? 1_000;
    this.#maxBackoffMs = options.maxBackoffMs ?? 10_000;
    // A batch claimed again after a relay died may have reached the engine (or a job store) already.
    this.#context = options.retention ? { retention: options.retention, repeated: true } : { repeated: true };
  }

  get stats(): RelayStats {
    return { relayed: this.#relayed, errors: this.#errors };
  }

  /** Start relaying. Resolves once listening for commits (or, when that failed, polling for them). */
  async start(): Promise<void> {
    if (this.#loop) return;
    this.#stopped = false;
    await this.#listen();
    this.#loop = this.#run();
  }

  /** Finish the batch in hand, then stop. Idempotent. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#resume?.();
    const loop = this.#loop;
    this.#loop = undefined;
    await loop;
    const stopListening = this.#stopListening;
    this.#stopListening = undefined;
    await stopListening?.().catch(() => {});
  }

  async #listen(): Promise<void> {
    try {
      this.#stopListening = await this.#outbox.listen(
        this.#target,
        () => this.#wake(),
        (error) => this.#report(error),
      );
    } catch (error) {
      // Polling covers the gap; the loop tries to listen again.
      this.#report(error);
    }
  }

  #wake(): void {
    this.#woken = true;
    this.#resume?.();
  }

  async #run(): Promise<void> {
    let backoff = 0;
    /** The next batch, claimed while the one before it goes to the engine. */
    let next: Promise<OutboxClaim | null> | undefined;
    /** The delete of the batch before, overlapping the claim of the next; it reports its own errors. */
    let deleting: Promise<void> | undefined;
    while (!this.#stopped) {
      if (!this.#stopListening) await this.#listen();
      let full = false;
      try {
        const claim = await (next ?? this.#claim());
        next = undefined;
        if (claim) {
          full = claim.jobs.length >= this.#batchSize;
          // While this batch goes to the engine, the next one is claimed: the database's work
          // overlaps the engine's. The batch before is deleted first, so a relay that dies hands
          // over again at most the one batch the engine was taking; batches reach the engine one
          // after another, in commit order.
          if (full && !this.#stopped) next = this.#claim();
          await deleting;
          const handed = await this.#handOver(claim);
          deleting = this.#finish(claim, handed);
        }
        backoff = 0;
      } catch (error) {
        this.#report(error);
        await release(next);
        next = undefined;
        backoff = Math.min(backoff === 0 ? FIRST_BACKOFF_MS : backoff * 2, this.#maxBackoffMs);
        await this.#pause(backoff, false);
        continue;
      }
      if (!full && !this.#woken) await this.#pause(this.#pollMs, true);
    }
    await release(next);
    await deleting;
  }

  /** Wait `ms`, or less when stopped (or, with `wakeable`, when rows were committed). */
  #pause(ms: number, wakeable: boolean): Promise<void> {
    if (this.#stopped || (wakeable && this.#woken)) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#resume = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#resume = wakeable ? done : () => this.#stopped && done();
    });
  }

  #claim(): Promise<OutboxClaim | null> {
    // A commit notified from here on may not be in what this claim reads: it wakes the next one.
    this.#woken = false;
    return this.#outbox.claim(this.#target, this.#batchSize);
  }

  /**
   * Enqueue a claim's jobs on the engine; resolves to the ids it holds. When it refuses them, the
   * claim ends here (keeping the rows of a batch it stored only part of) and the error is thrown.
   */
  async #handOver(claim: OutboxClaim): Promise<string[]> {
    const jobs = claim.jobs.map(forHandOver);
    try {
      await this.#engine.enqueue(jobs, this.#context);
      return jobs.map((job) => job.id);
    } catch (error) {
      // Part of a batch stored: delete those rows, keep the others for the next try.
      const stored = error instanceof BulkEnqueueError ? error.storedIds : [];
      await claim.finish(stored).catch((finishError: unknown) => this.#report(finishError));
      throw error;
    }
  }

  /** Delete what the engine holds and end the claim; a failure is reported (the rows are handed over again). */
  #finish(claim: OutboxClaim, handed: readonly string[]): Promise<void> {
    return claim.finish(handed).then(
      () => {
        this.#relayed += handed.length;
      },
      (error: unknown) => this.#report(error),
    );
  }

  #report(error: unknown): void {
    this.#errors++;
    this.#onError(error instanceof Error ? error : new Error(String(error)));
  }
}

/** Give back a claim taken ahead that will not be handed over now. */
async function release(claim: Promise<OutboxClaim | null> | undefined): Promise<void> {
  await claim?.then((taken) => taken?.finish([])).catch(() => {});
}

/** A delay travels as its absolute `runAt`: one already past means "now" on every engine. */
function forHandOver(job: NewJob): NewJob {
  if (job.runAt === undefined || job.runAt > Date.now()) return job;
  const { runAt: _past, ...now } = job;
  return now;
}
