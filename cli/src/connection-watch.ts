import type { Backend } from "@taskport/core";

export interface WatchOptions {
  /** Give up when the engine has not come back for this long. */
  readonly giveUpAfterMs: number;
  readonly onRecovered: () => void;
  readonly onGiveUp: (lastProblem: string) => void;
}

/**
 * After a worker reports an out-of-job error (a lost connection, a failed poll), decide whether the
 * adapter got its connection back on its own, or whether to give up so the worker exits rather than
 * idling silently. The engine counts as back when `check()` finds nothing AND the worker has
 * reported no error for a while: a `check()` alone can pass on a pooled connection while the
 * consumer's own connections are still refused. A worker draining other engines watches them all:
 * its errors do not say which engine they come from.
 */
export class ConnectionWatch {
  readonly #backends: readonly Backend[];
  readonly #options: WatchOptions;
  readonly #intervalMs: number;
  /** How long without a new error before a passing check counts: client libraries retry with pauses of a second or two. */
  readonly #quietMs: number;
  #since: number | undefined;
  #lastErrorAt = 0;
  #lastError = "";
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(backends: Backend | readonly Backend[], options: WatchOptions) {
    this.#backends = Array.isArray(backends) ? backends : [backends as Backend];
    this.#options = options;
    this.#intervalMs = Math.max(100, Math.min(2000, options.giveUpAfterMs / 5));
    this.#quietMs = Math.max(2 * this.#intervalMs, Math.min(3000, options.giveUpAfterMs));
  }

  /** Called on every worker error; starts watching unless it already is. */
  trouble(error: Error): void {
    if (this.#stopped) return;
    this.#lastErrorAt = Date.now();
    this.#lastError = error.message;
    if (this.#since !== undefined) return;
    this.#since = Date.now();
    this.#schedule();
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  #schedule(): void {
    this.#timer = setTimeout(() => void this.#probe(), this.#intervalMs);
  }

  async #probe(): Promise<void> {
    if (this.#stopped || this.#since === undefined) return;
    const problems = (await Promise.all(this.#backends.map((backend) => backend.check()))).flat();
    if (this.#stopped) return;
    const quiet = Date.now() - this.#lastErrorAt >= this.#quietMs;
    if (problems.length === 0 && quiet) {
      this.#since = undefined;
      this.#options.onRecovered();
      return;
    }
    if (Date.now() - this.#since >= this.#options.giveUpAfterMs) {
      this.stop();
      this.#options.onGiveUp(problems.map((p) => p.message).join("; ") || this.#lastError);
      return;
    }
    this.#schedule();
  }
}
