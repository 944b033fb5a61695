/**
 * One concurrency limit shared by several engine-side consumers. Engines such as BullMQ and
 * bee-queue run one consumer per queue, each with a concurrency of its own; an adapter that serves
 * a worker's several queues that way takes a slot here before running a job, so the worker's
 * total stays at its limit. A job fetched while every slot is busy waits for one.
 */
export class SharedSlots {
  #free: number;
  readonly #waiting: ((granted: boolean) => void)[] = [];
  #closed = false;

  constructor(size: number) {
    this.#free = size;
  }

  /** Resolves `true` with a slot, or `false` once closed: the caller then hands its job back unrun. */
  acquire(): Promise<boolean> {
    if (this.tryAcquire()) return Promise.resolve(true);
    if (this.#closed) return Promise.resolve(false);
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  /** Takes a free slot at once, without a promise (the hot path); false when none is free or closed. */
  tryAcquire(): boolean {
    if (this.#closed || this.#free === 0) return false;
    this.#free--;
    return true;
  }

  /** Gives a slot back: to the longest waiter, else to the pool. */
  release(): void {
    const next = this.#waiting.shift();
    if (next) next(true);
    else this.#free++;
  }

  /** Refuses every waiter and every later `acquire`; holders still release theirs. */
  close(): void {
    this.#closed = true;
    for (const waiter of this.#waiting.splice(0)) waiter(false);
  }
}
