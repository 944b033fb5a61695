import { PRIORITY_MAX, PRIORITY_MIN } from "../capabilities.ts";
import { Deque } from "./deque.ts";

/**
 * Jobs ready to run in one queue: highest priority first, FIFO within a priority. One FIFO bucket
 * per priority level (the range is small and fixed), so push and shift are O(1) in practice.
 */
export class ReadyQueue<T> {
  /** Made on first use: most queues use one or two priorities. */
  readonly #buckets: (Deque<T> | undefined)[] = new Array(PRIORITY_MAX - PRIORITY_MIN + 1).fill(undefined);
  /** Index of the highest bucket that may be non-empty. */
  #top = -1;
  #length = 0;
  /** Set by `pause(queue)`: consumers take nothing from it. Kept here so a take needs no lookup. */
  paused = false;

  get length(): number {
    return this.#length;
  }

  /** Highest priority waiting, or -Infinity when empty. */
  get topPriority(): number {
    this.#settleTop();
    return this.#length === 0 ? Number.NEGATIVE_INFINITY : this.#top + PRIORITY_MIN;
  }

  push(item: T, priority: number, front = false): void {
    const index = priority - PRIORITY_MIN;
    let bucket = this.#buckets[index];
    if (!bucket) {
      bucket = new Deque<T>();
      this.#buckets[index] = bucket;
    }
    if (front) bucket.unshift(item);
    else bucket.push(item);
    if (index > this.#top) this.#top = index;
    this.#length++;
  }

  shift(): T | undefined {
    if (this.#length === 0) return undefined;
    this.#settleTop();
    this.#length--;
    return (this.#buckets[this.#top] as Deque<T>).shift();
  }

  #settleTop(): void {
    while (this.#top >= 0 && (this.#buckets[this.#top]?.length ?? 0) === 0) this.#top--;
  }
}
