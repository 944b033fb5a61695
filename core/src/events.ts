import type { SerializedError } from "./errors.ts";

/** Which job an event is about. */
export interface JobRef {
  readonly id: string;
  readonly name: string;
  readonly queue: string;
}

/**
 * Lifecycle events, the same for every engine. `enqueued` fires on the producer side (a backend);
 * the others fire in the worker that runs the job.
 */
export interface TaskportEvents {
  enqueued: { job: JobRef; deduplicated: boolean; runAt?: number };
  started: { job: JobRef; attempt: number };
  progress: { job: JobRef; attempt: number; value: unknown };
  succeeded: { job: JobRef; attempt: number; result: unknown; durationMs: number };
  retrying: { job: JobRef; attempt: number; error: SerializedError; retryInMs: number };
  failed: { job: JobRef; attempt: number; error: SerializedError };
  /**
   * Something went wrong outside the other events: a lost connection, a consumer that stopped
   * (no `job`), or a handler that ran past its timeout, ignoring `ctx.signal` (its `job`).
   */
  error: { error: Error; job?: JobRef };
}

type Listener<T> = (event: T) => void;

/** A small typed emitter. Listeners that throw are reported on `error` and never break a job. */
export class Emitter<Events extends object> {
  #listeners = new Map<keyof Events, Set<Listener<never>>>();

  on<K extends keyof Events>(type: K, listener: Listener<Events[K]>): () => void {
    let set = this.#listeners.get(type);
    if (!set) {
      set = new Set();
      this.#listeners.set(type, set);
    }
    set.add(listener as Listener<never>);
    return () => this.off(type, listener);
  }

  off<K extends keyof Events>(type: K, listener: Listener<Events[K]>): void {
    this.#listeners.get(type)?.delete(listener as Listener<never>);
  }

  /** True when someone listens, so callers can skip building an event nobody reads. */
  has(type: keyof Events): boolean {
    return (this.#listeners.get(type)?.size ?? 0) > 0;
  }

  emit<K extends keyof Events>(type: K, event: Events[K]): void {
    const set = this.#listeners.get(type);
    if (!set) return;
    for (const listener of set) {
      try {
        (listener as Listener<Events[K]>)(event);
      } catch (error) {
        if (type !== "error") this.emit("error" as K, { error } as Events[K]);
      }
    }
  }
}
