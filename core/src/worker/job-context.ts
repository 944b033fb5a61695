import type { Delivery } from "../contract.ts";
import type { Emitter, TaskportEvents } from "../events.ts";
import { encodeJson, type JsonValue } from "../json.ts";
import type { TaskContext } from "../task-context.ts";

const NO_HEADERS: Readonly<Record<string, string>> = Object.freeze({});

/**
 * The `ctx` a handler receives. Its AbortSignal is created only when a handler reads it: most
 * handlers never do, and an AbortController per job is a measurable cost at 300k jobs/s.
 */
export class JobContext implements TaskContext {
  readonly #delivery: Delivery;
  readonly #events: Emitter<TaskportEvents>;
  #controller: AbortController | undefined;
  #abortReason: unknown;
  /**
   * Bookkeeping of HandlerBodies: the context's index among the bodies running (-1 once ended), and
   * what to call when it ends. Private, read through the static accessors below, so that a handler's
   * `ctx` shows nothing of it; an index rather than a Set of contexts, so that nothing is hashed per job.
   */
  #bodyIndex = -1;
  #onBodyEnd: (() => void) | undefined;

  static bodyIndex(ctx: JobContext): number {
    return ctx.#bodyIndex;
  }
  static setBodyIndex(ctx: JobContext, index: number): void {
    ctx.#bodyIndex = index;
  }
  static onBodyEnd(ctx: JobContext): (() => void) | undefined {
    return ctx.#onBodyEnd;
  }
  static setOnBodyEnd(ctx: JobContext, onEnd: (() => void) | undefined): void {
    ctx.#onBodyEnd = onEnd;
  }

  constructor(delivery: Delivery, events: Emitter<TaskportEvents>) {
    this.#delivery = delivery;
    this.#events = events;
  }

  get jobId(): string {
    return this.#delivery.id;
  }
  get taskName(): string {
    return this.#delivery.name;
  }
  get queue(): string {
    return this.#delivery.queue;
  }
  get attempt(): number {
    return this.#delivery.attempt;
  }
  get maxAttempts(): number {
    return this.#delivery.maxAttempts;
  }
  get headers(): Readonly<Record<string, string>> {
    return this.#delivery.headers ?? NO_HEADERS;
  }

  get signal(): AbortSignal {
    if (!this.#controller) {
      this.#controller = new AbortController();
      if (this.#abortReason !== undefined) this.#controller.abort(this.#abortReason);
      const engine = this.#delivery.signal;
      if (engine) {
        if (engine.aborted) this.#controller.abort(engine.reason);
        else engine.addEventListener("abort", () => this.abort(engine.reason), { once: true });
      }
    }
    return this.#controller.signal;
  }

  /** Abort the handler's signal (timeout, shutdown). Safe before the handler has read it. */
  abort(reason: unknown): void {
    if (this.#abortReason !== undefined) return;
    this.#abortReason = reason;
    this.#controller?.abort(reason);
  }

  async progress(value: JsonValue): Promise<void> {
    const delivery = this.#delivery;
    encodeJson(delivery.name, value, "progress value");
    if (this.#events.has("progress")) {
      this.#events.emit("progress", {
        job: { id: delivery.id, name: delivery.name, queue: delivery.queue },
        attempt: delivery.attempt,
        value,
      });
    }
    await delivery.progress?.(value);
  }
}
