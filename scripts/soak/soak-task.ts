import { defineTask, type TaskContext } from "@taskport/core";

/** The soak's one task, shared by the producer (which enqueues) and the workers (which run it). */
export interface SoakPayload {
  /** The job's number in this run: the ledger's key. */
  readonly i: number;
  /** When the producer enqueued it (ms since the epoch): enqueue-to-start is measured from it. */
  readonly at: number;
}

/**
 * Many attempts: a job whose worker is killed mid-run loses an attempt on engines that count
 * crashes, and the soak kills workers every few seconds. A short timeout: engines that recover a
 * dead worker's jobs after a lease (pg-boss's expiry, SQLite's lease) recover them quickly.
 */
export function soakTask(queue: string, run: (payload: SoakPayload, ctx: TaskContext) => Promise<void>) {
  return defineTask("soak", run, { queue, timeoutMs: 5_000, retry: { maxAttempts: 25, delayMs: 100 } });
}
