import type { Backend } from "@taskport/core";

export interface WatchOptions {
  /** Give up when the engine has not answered a check for this long. */
  readonly giveUpAfterMs: number;
  readonly onRecovered: () => void;
  readonly onGiveUp: (lastProblem: string) => void;
}

/**
 * After a worker reports an out-of-job error (a lost connection, a failed poll), probe the engine
 * with `check()` until it answers again — the adapter reconnects on its own — or until the time is
 * up, so a worker that cannot get its connection back exits rather than idling silently.
 */
export class ConnectionWatch {
  readonly #backend: Backend;
  readonly #options: WatchOptions;
  #since: number | undefined;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(backend: Backend, options: WatchOptions) {
    this.#backend = backend;
    this.#options = options;
  }

  /** Called on every worker error; starts probing unless it already is. */
  trouble(): void {
    if (this.#since !== undefined || this.#stopped) return;
    this.#since = Date.now();
    this.#schedule();
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  #schedule(): void {
    const interval = Math.max(100, Math.min(2000, this.#options.giveUpAfterMs / 5));
    this.#timer = setTimeout(() => void this.#probe(), interval);
  }

  async #probe(): Promise<void> {
    if (this.#stopped || this.#since === undefined) return;
    const problems = await this.#backend.check();
    if (this.#stopped) return;
    if (problems.length === 0) {
      this.#since = undefined;
      this.#options.onRecovered();
      return;
    }
    if (Date.now() - this.#since >= this.#options.giveUpAfterMs) {
      this.stop();
      this.#options.onGiveUp(problems.map((p) => p.message).join("; "));
      return;
    }
    this.#schedule();
  }
}
