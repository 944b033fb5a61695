/**
 * Wakes an adapter's fetch loops (pulls, polls) waiting for something to change: a slot freed, a
 * worker stopping, or the end of a pause after an error. A loop with nothing to ask for waits here
 * instead of asking the engine again; whatever frees a slot or stops the worker calls `notify`.
 */
export class Wakeup {
  #wake: (() => void) | undefined;
  #scheduled = false;

  /** Resolves at the next `notify()`, or once `ms` have passed if given (a pause that a stop cuts short). */
  wait(ms?: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = ms === undefined ? undefined : setTimeout(resolve, ms);
      const previous = this.#wake;
      this.#wake = () => {
        clearTimeout(timer);
        previous?.();
        resolve();
      };
    });
  }

  /** Wake every waiting loop now. */
  notify(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  /**
   * Wake the loops once this turn of the event loop is over: the jobs of one fetched batch settle
   * together, and a loop woken by the first of them would ask for one message where it can ask
   * for many.
   */
  notifySoon(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      this.notify();
    });
  }
}
