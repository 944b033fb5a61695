import type { Backend } from "@taskport/core";
import { clock, type Output } from "./output.ts";

/** Jobs still to run on a drained backend, by status. */
interface Left {
  readonly scheduled: number;
  readonly queued: number;
  readonly running: number;
}

/**
 * While a worker drains other engines (`--drain`), log what is left on each of them whenever it
 * changes, and say plainly when one is empty. Reads only `stats` (engines without it are named once
 * and skipped). Empty means nothing scheduled, queued or running on the worker's queues *now*: a
 * producer not yet switched can still add jobs, hence the advice in the message.
 */
export class DrainReport {
  readonly #backends: readonly Backend[];
  readonly #queues: readonly string[];
  readonly #out: Output;
  readonly #intervalMs: number;
  readonly #last = new Map<Backend, string>();
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(backends: readonly Backend[], queues: readonly string[], out: Output, intervalMs: number) {
    this.#backends = backends;
    this.#queues = queues;
    this.#out = out;
    this.#intervalMs = intervalMs;
  }

  start(): void {
    if (this.#intervalMs > 0 && this.#backends.length > 0) void this.#report();
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  async #report(): Promise<void> {
    for (const backend of this.#backends) await this.#reportOne(backend);
    if (!this.#stopped) this.#timer = setTimeout(() => void this.#report(), this.#intervalMs);
  }

  async #reportOne(backend: Backend): Promise<void> {
    let left: Left;
    try {
      const adapter = await backend.adapter();
      if (!adapter.capabilities.stats) {
        this.#once(backend, "no-stats", () =>
          this.#out.info(
            { event: "drain-unknown", backend: backend.description },
            `${clock()} drain    ${backend.description} reports no queue stats: check it is empty with the engine's own tools`,
          ),
        );
        return;
      }
      left = sum(await backend.stats(this.#queues));
    } catch {
      return; // the worker's error events already say the engine is unreachable
    }
    if (this.#stopped) return;
    const total = left.scheduled + left.queued + left.running;
    this.#once(backend, JSON.stringify(left), () => {
      if (total === 0) {
        this.#out.info(
          { event: "drained", backend: backend.description, queues: this.#queues },
          `${clock()} drained  ${backend.description}: nothing scheduled, queued or running on ${this.#queues.join(", ")}. Once no producer enqueues there any more, remove --drain`,
        );
      } else {
        this.#out.info(
          { event: "draining", backend: backend.description, ...left },
          `${clock()} draining ${backend.description}: ${total} left (${left.scheduled} scheduled, ${left.queued} queued, ${left.running} running)`,
        );
      }
    });
  }

  /** Run `log` unless the last report for `backend` was the same. */
  #once(backend: Backend, key: string, log: () => void): void {
    if (this.#last.get(backend) === key) return;
    this.#last.set(backend, key);
    log();
  }
}

function sum(stats: Awaited<ReturnType<Backend["stats"]>>): Left {
  const left = { scheduled: 0, queued: 0, running: 0 };
  for (const { counts } of stats) {
    left.scheduled += counts.scheduled ?? 0;
    left.queued += counts.queued ?? 0;
    left.running += counts.running ?? 0;
  }
  return left;
}
