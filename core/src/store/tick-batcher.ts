/**
 * Gathers the calls made in one event-loop turn into one batch: a worker running 50 jobs writes
 * their starts (and their outcomes) to the store in one statement or pipeline, not 50.
 */
export class TickBatcher<In, Out> {
  readonly #flush: (items: readonly In[]) => Promise<Out[]>;
  readonly #maxBatch: number;
  #items: In[] = [];
  #waiters: { resolve: (out: Out) => void; reject: (error: unknown) => void }[] = [];
  #scheduled = false;

  constructor(flush: (items: readonly In[]) => Promise<Out[]>, maxBatch = 500) {
    this.#flush = flush;
    this.#maxBatch = maxBatch;
  }

  add(item: In): Promise<Out> {
    return new Promise<Out>((resolve, reject) => {
      this.#items.push(item);
      this.#waiters.push({ resolve, reject });
      if (this.#items.length >= this.#maxBatch) this.#run();
      else if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(() => this.#run());
      }
    });
  }

  #run(): void {
    this.#scheduled = false;
    const items = this.#items;
    const waiters = this.#waiters;
    if (items.length === 0) return;
    this.#items = [];
    this.#waiters = [];
    this.#flush(items).then(
      (outs) => {
        for (let i = 0; i < waiters.length; i++) waiters[i]?.resolve(outs[i] as Out);
      },
      (error: unknown) => {
        for (const waiter of waiters) waiter.reject(error);
      },
    );
  }
}
