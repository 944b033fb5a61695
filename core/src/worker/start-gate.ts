import type { Settlement } from "../contract.ts";

/** What a held delivery gets when its worker failed to start: the engine takes the job back unrun. */
const NEVER_SETTLED: Promise<Settlement> = new Promise(() => {});

/**
 * Holds the deliveries that arrive while a worker is starting. An engine may hand over waiting jobs
 * while `consume()` is still being awaited (the memory engine in a microtask, RabbitMQ in the socket
 * read that confirms the consumer); the caller of `start()` attaches its listeners in the microtasks
 * right after it resolves, so held jobs run a macrotask later (`open`). When the start fails instead
 * (one of several backends cannot be consumed), held jobs never run (`refuse`): their consumers are
 * abandoned, which gives the jobs back to their engines.
 */
export class StartGate {
  #state: "holding" | "open" | "refused" = "holding";
  readonly #opened: Promise<boolean>;
  #settle!: (open: boolean) => void;

  constructor() {
    this.#opened = new Promise((resolve) => {
      this.#settle = resolve;
    });
  }

  /** True once deliveries run as they come: callers may then skip `pass` and the closure it takes. */
  get open(): boolean {
    return this.#state === "open";
  }

  /** Run `work` now when open, once opened when holding, never when refused. */
  pass(work: () => Promise<Settlement>): Promise<Settlement> {
    if (this.#state === "open") return work();
    if (this.#state === "refused") return NEVER_SETTLED;
    return this.#opened.then((open) => (open ? work() : NEVER_SETTLED));
  }

  /** Let held and later deliveries run, a macrotask from now (unless refused first). */
  openSoon(): void {
    setImmediate(() => {
      if (this.#state !== "holding") return;
      this.#state = "open";
      this.#settle(true);
    });
  }

  refuse(): void {
    if (this.#state !== "holding") return;
    this.#state = "refused";
    this.#settle(false);
  }
}
