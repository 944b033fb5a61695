import type { Retention } from "@taskport/core";
import type { Queue } from "bullmq";

/** Finished jobs deleted per call, so that a long-idle queue's first sweep holds no lock for long. */
const BATCH = 1_000;

/** A tenth of the shorter retention, within half a second and a minute: a job outlives its retention by at most that. */
export function sweepIntervalMs(retention: Retention): number {
  return Math.min(60_000, Math.max(500, Math.min(retention.succeededMs, retention.failedMs) / 10));
}

/**
 * Deletes the finished jobs of a worker's queues once past the backend's retention, every so often,
 * where BullMQ's own age limits (`removeOnComplete`/`removeOnFail` ages, applied as each job
 * finishes) cost too much: on PostgreSQL each finish runs one more DELETE in its transaction,
 * which cut a drained backlog's rate by about a third. One sweep is two `Queue.clean` calls a queue.
 */
export class RetentionSweep {
  readonly #queues: () => Promise<Queue[]>;
  readonly #retention: Retention;
  readonly #timer: NodeJS.Timeout;
  #running: Promise<void> | undefined;

  constructor(queues: () => Promise<Queue[]>, retention: Retention) {
    this.#queues = queues;
    this.#retention = retention;
    this.#timer = setInterval(() => {
      this.#running ??= this.#sweep().finally(() => {
        this.#running = undefined;
      });
    }, sweepIntervalMs(retention));
    this.#timer.unref();
  }

  async #sweep(): Promise<void> {
    try {
      for (const queue of await this.#queues()) {
        while ((await queue.clean(this.#retention.succeededMs, BATCH, "completed")).length === BATCH);
        while ((await queue.clean(this.#retention.failedMs, BATCH, "failed")).length === BATCH);
      }
    } catch {
      // The next sweep tries again; a lost connection is the worker's to report, and it does.
    }
  }

  /** Stop sweeping; resolves once a sweep under way has ended. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#running;
  }
}
