import type { JobChange } from "@taskport/core";

/** A set of listeners for one kind of signal. */
class Channel<T> {
  readonly #listeners = new Set<(value: T) => void>();

  on(listener: (value: T) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  emit(value: T): void {
    for (const listener of this.#listeners) listener(value);
  }
}

/** Jobs were committed that workers of these queues may take: now (`ready`) or at a time (`due`). */
export interface WorkSignal {
  readonly ready: ReadonlySet<string>;
  readonly due: ReadonlyMap<string, number>;
}

/**
 * What the adapters of one process tell each other about one database file, so that a worker is
 * woken at once by its own process's enqueues, cancels and resumes instead of by its next poll.
 * Other processes' commits are found by polling (`ChangeMonitor`).
 */
export class FileSignals {
  readonly work = new Channel<WorkSignal>();
  /** A cancel was asked for this running job. */
  readonly cancel = new Channel<string>();
  /** Jobs reached a final status. */
  readonly finished = new Channel<JobChange>();
  users = 0;
}

const byFile = new Map<string, FileSignals>();

/** The signals of the file `key` (its absolute path, or a key unique to an in-memory database). */
export function acquireSignals(key: string): FileSignals {
  let signals = byFile.get(key);
  if (!signals) {
    signals = new FileSignals();
    byFile.set(key, signals);
  }
  signals.users++;
  return signals;
}

export function releaseSignals(key: string, signals: FileSignals): void {
  if (--signals.users === 0 && byFile.get(key) === signals) byFile.delete(key);
}
