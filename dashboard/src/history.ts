import type { QueueStats } from "@taskport/core";

/** One sample of a queue, for its sparkline. */
export interface Sample {
  readonly t: number;
  readonly queued: number;
  readonly running: number;
  readonly failed: number;
}

/**
 * The last minutes of every queue's counts, kept in this process: enough for a sparkline, and
 * gone on restart (the engine, not the dashboard, is the record).
 */
export class History {
  readonly #samples = new Map<string, Sample[]>();
  readonly #limit: number;

  constructor(limit: number) {
    this.#limit = limit;
  }

  record(backend: string, stats: readonly QueueStats[], now: number): void {
    for (const queue of stats) {
      const key = `${backend}\u0000${queue.queue}`;
      const list = this.#samples.get(key) ?? [];
      const last = list[list.length - 1];
      // Several browsers polling at once add one sample per second at most.
      if (last && now - last.t < 1_000) continue;
      list.push({ t: now, queued: queue.counts.queued ?? 0, running: queue.counts.running ?? 0, failed: queue.counts.failed ?? 0 });
      if (list.length > this.#limit) list.splice(0, list.length - this.#limit);
      this.#samples.set(key, list);
    }
  }

  of(backend: string, queue: string): readonly Sample[] {
    return this.#samples.get(`${backend}\u0000${queue}`) ?? [];
  }
}
