import { SharedSlots } from "../shared-slots.ts";
import type { JobContext } from "./job-context.ts";

/**
 * The handler bodies a worker runs, at most `concurrency` at once.
 *
 * An adapter frees its own slot when a job settles, and a job settles at its timeout; but nothing
 * can stop a handler that ignores `ctx.signal`, so its body may run on. Each body therefore holds a
 * slot here until it really ends: `concurrency` bounds the handler code running at once, which is
 * what it is for (a pool of connections, an API's rate limit, memory). A delivery that arrives
 * while every slot is held by such a body waits for one.
 */
export class HandlerBodies {
  readonly #slots: SharedSlots;
  readonly #running = new Set<JobContext>();
  /** For bodies that outlived their settlement: resolved when each ends. */
  readonly #endings = new Map<JobContext, () => void>();
  readonly #idle: (() => void)[] = [];

  constructor(concurrency: number) {
    this.#slots = new SharedSlots(concurrency);
  }

  /** Bodies running now, including those past their timeout. */
  get size(): number {
    return this.#running.size;
  }

  /** A slot for a body: `true` at once when one is free (no promise on the hot path), else a promise of one; `false` once dropped. */
  enter(): boolean | Promise<boolean> {
    return this.#slots.tryAcquire() || this.#slots.acquire();
  }

  /** The body of `ctx` starts, in the slot `enter` gave. */
  begin(ctx: JobContext): void {
    this.#running.add(ctx);
  }

  /** The body of `ctx` has ended: its slot goes to the longest-waiting delivery. */
  end(ctx: JobContext): void {
    this.#running.delete(ctx);
    this.#slots.release();
    this.#endings.get(ctx)?.();
    this.#endings.delete(ctx);
    if (this.#running.size === 0 && this.#idle.length > 0) for (const resolve of this.#idle.splice(0)) resolve();
  }

  /** Resolves when the body of `ctx` ends, its slot free; `undefined` when it has already ended. */
  ending(ctx: JobContext): Promise<void> | undefined {
    if (!this.#running.has(ctx)) return undefined;
    return new Promise((resolve) => this.#endings.set(ctx, resolve));
  }

  abortAll(reason: unknown): void {
    for (const ctx of this.#running) ctx.abort(reason);
  }

  /** Resolves once no body runs. */
  whenIdle(): Promise<void> {
    if (this.#running.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  /** Deliveries still waiting for a slot never run: the worker has given their jobs back to the engine. */
  drop(): void {
    this.#slots.close();
  }
}
