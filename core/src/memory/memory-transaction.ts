import type { EnqueueReceipt, NewJob } from "../contract.ts";
import { ValidationError } from "../errors.ts";

/**
 * A unit of work for the memory engine: jobs enqueued with it appear on `commit()` and vanish on
 * `rollback()`, as with a database transaction in engines that join one (pg-boss).
 */
export class MemoryTransaction {
  readonly #store: (jobs: readonly NewJob[]) => EnqueueReceipt[];
  #pending: NewJob[] = [];
  #state: "open" | "committed" | "rolled back" = "open";

  constructor(store: (jobs: readonly NewJob[]) => EnqueueReceipt[]) {
    this.#store = store;
  }

  add(jobs: readonly NewJob[], existing: (job: NewJob) => { id: string } | undefined): EnqueueReceipt[] {
    if (this.#state !== "open") throw new ValidationError("memory", `transaction already ${this.#state}; start a new one.`);
    this.#pending.push(...jobs);
    return jobs.map((job) => {
      const found = existing(job);
      return found ? { id: found.id, deduplicated: true } : { id: job.id };
    });
  }

  commit(): void {
    if (this.#state !== "open") return;
    this.#state = "committed";
    this.#store(this.#pending);
    this.#pending = [];
  }

  rollback(): void {
    if (this.#state !== "open") return;
    this.#state = "rolled back";
    this.#pending = [];
  }
}
