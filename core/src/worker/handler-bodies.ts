import { SharedSlots } from "../shared-slots.ts";
import { JobContext } from "./job-context.ts";

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
  /** The bodies running; each context knows its index here (`JobContext.bodyIndex`). */
  readonly #running: JobContext[] = [];
  readonly #idle: (() => void)[] = [];

  constructor(concurrency: number) {
    this.#slots = new SharedSlots(concurrency);
  }

  /** Bodies running now, including those past their timeout. */
  get size(): number {
    return this.#running.length;
  }

  /** A slot for a body: `true` at once when one is free (no promise on the hot path), else a promise of one; `false` once dropped. */
  enter(): boolean | Promise<boolean> {
    return this.#slots.tryAcquire() || this.#slots.acquire();
  }

  /** The body of `ctx` starts, in the slot `enter` gave. */
  begin(ctx: JobContext): void {
    JobContext.setBodyIndex(ctx, this.#running.length);
    this.#running.push(ctx);
  }

  /** The body of `ctx` has ended: its slot goes to the longest-waiting delivery. */
  end(ctx: JobContext): void {
    const index = JobContext.bodyIndex(ctx);
    if (index >= 0) {
      const running = this.#running;
      const last = running.pop() as JobContext;
      if (last !== ctx) {
        running[index] = last;
        JobContext.setBodyIndex(last, index);
      }
      JobContext.setBodyIndex(ctx, -1);
    }
    this.#slots.release();
    const onEnd = JobContext.onBodyEnd(ctx);
    if (onEnd) {
      JobContext.setOnBodyEnd(ctx, undefined);
      onEnd();
    }
    if (this.#running.length === 0 && this.#idle.length > 0) for (const resolve of this.#idle.splice(0)) resolve();
  }

  /** Resolves when the body of `ctx` ends, its slot free; `undefined` when it has already ended. */
  ending(ctx: JobContext): Promise<void> | undefined {
    if (JobContext.bodyIndex(ctx) < 0) return undefined;
    return new Promise((resolve) => JobContext.setOnBodyEnd(ctx, resolve));
  }

  abortAll(reason: unknown): void {
    // A copy, as ending a body reorders the list; one ended meanwhile is skipped.
    for (const ctx of [...this.#running]) if (JobContext.bodyIndex(ctx) >= 0) ctx.abort(reason);
  }

  /** Resolves once no body runs. */
  whenIdle(): Promise<void> {
    if (this.#running.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  /** Deliveries still waiting for a slot never run: the worker has given their jobs back to the engine. */
  drop(): void {
    this.#slots.close();
  }
}
