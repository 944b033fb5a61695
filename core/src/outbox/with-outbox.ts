import type { Capabilities } from "../capabilities.ts";
import type {
  Adapter,
  CheckProblem,
  ConsumeOptions,
  Consumer,
  DeliveryHandler,
  EnqueueContext,
  EnqueueReceipt,
  JobInfo,
  NewJob,
} from "../contract.ts";
import type { Outbox } from "./contract.ts";
import { Relay, type RelayOptions } from "./relay.ts";

export interface OutboxOptions extends RelayOptions {
  /**
   * The backend the rows are for: a relay moves only its own target's rows. Default `default`;
   * a configured backend passes its name. Give a backend the same name in every process.
   */
  readonly target?: string;
  /** Run the relay inside workers (started by `consume`, stopped with the last consumer). Default true. */
  readonly relayInWorkers?: boolean;
}

/** A relay started through {@link OutboxAdapter.startRelay}; the relay stops when its last user stops. */
export interface RelayLease {
  readonly relay: Relay;
  stop(): Promise<void>;
}

/**
 * An engine with an outbox beside it, as one adapter: its capabilities are the engine's plus
 * `transactions`. An enqueue with `{ transaction }` writes the jobs into the outbox inside that
 * transaction; one without goes straight to the engine and costs nothing more. Workers run the
 * relay that hands committed jobs to the engine (`relayInWorkers`), or `taskport relay` does.
 *
 * With a job store too, wrap the store-backed engine: `withOutbox(withJobStore(engine, store), outbox)`.
 * The store then records a job when the relay hands it to the engine, never inside a transaction
 * that may roll back, so no job stays "queued" in the store that will never run.
 */
export function withOutbox(adapter: Adapter, outbox: Outbox, options: OutboxOptions = {}): OutboxAdapter {
  return new OutboxAdapter(adapter, outbox, options);
}

export class OutboxAdapter implements Adapter {
  readonly name: string;
  readonly capabilities: Capabilities;
  readonly engine: Adapter;
  readonly outbox: Outbox;
  readonly target: string;
  readonly #options: OutboxOptions;
  #relay: Relay | undefined;
  #relayStart: Promise<void> | undefined;
  /** Error listeners of the relay's current users; the relay runs while there is one. */
  readonly #users = new Set<(error: Error) => void>();

  constructor(engine: Adapter, outbox: Outbox, options: OutboxOptions) {
    this.engine = engine;
    this.outbox = outbox;
    this.name = engine.name;
    this.target = options.target ?? "default";
    this.#options = options;
    this.capabilities = Object.freeze({ ...engine.capabilities, transactions: true });
  }

  async enqueue(jobs: readonly NewJob[], context: EnqueueContext): Promise<EnqueueReceipt[]> {
    if (context.transaction === undefined) return this.engine.enqueue(jobs, context);
    await this.outbox.insert(jobs, this.target, context.transaction);
    // Deduplication happens at the hand-over: a key already held keeps its job, and this one is dropped then.
    return jobs.map((job) => ({ id: job.id }));
  }

  async consume(options: ConsumeOptions, handler: DeliveryHandler): Promise<Consumer> {
    const consumer = await this.engine.consume(options, handler);
    if (this.#options.relayInWorkers === false) return consumer;
    let lease: RelayLease;
    try {
      lease = await this.startRelay(options.onError ?? (() => {}));
    } catch (error) {
      await consumer.abandon();
      throw error;
    }
    return {
      stop: async () => {
        await Promise.all([consumer.stop(), lease.stop()]);
      },
      abandon: async () => {
        await Promise.all([consumer.abandon(), lease.stop()]);
      },
    };
  }

  /**
   * Run this adapter's relay (one per adapter, shared by its users) until the returned lease is
   * stopped; errors go to `onError`. Workers call it from `consume`; `taskport relay` calls it alone.
   */
  async startRelay(onError: (error: Error) => void): Promise<RelayLease> {
    const report = (error: Error) => onError(error);
    this.#users.add(report);
    this.#relay ??= new Relay(this.outbox, this.engine, this.target, (error) => this.#report(error), this.#options);
    const relay = this.#relay;
    this.#relayStart ??= relay.start();
    await this.#relayStart;
    let stopped = false;
    return {
      relay,
      stop: async () => {
        if (stopped) return;
        stopped = true;
        this.#users.delete(report);
        if (this.#users.size === 0 && this.#relay === relay) {
          this.#relay = undefined;
          this.#relayStart = undefined;
          await relay.stop();
        }
      },
    };
  }

  #report(error: Error): void {
    for (const user of this.#users) user(error);
  }

  /** Where the engine stores jobs: a job still in the outbox (committed, not yet handed over) reads as queued. */
  get getJob(): Adapter["getJob"] {
    const engine = this.engine;
    if (!engine.getJob) return undefined;
    return async (id, queue) => {
      const found = await engine.getJob?.(id, queue);
      if (found) return found;
      const waiting = await this.outbox.get(id, this.target);
      // Not in the outbox: either never committed, or handed over since the engine was asked.
      return waiting ? infoOf(waiting) : ((await engine.getJob?.(id, queue)) ?? null);
    };
  }

  get cancel(): Adapter["cancel"] {
    return this.engine.cancel?.bind(this.engine);
  }

  get listDeadLetters(): Adapter["listDeadLetters"] {
    return this.engine.listDeadLetters?.bind(this.engine);
  }

  get watch(): Adapter["watch"] {
    return this.engine.watch?.bind(this.engine);
  }

  /** The engine's counts: jobs still in the outbox (committed, not yet handed over) are not among them. */
  get stats(): Adapter["stats"] {
    return this.engine.stats?.bind(this.engine);
  }

  get listJobs(): Adapter["listJobs"] {
    return this.engine.listJobs?.bind(this.engine);
  }

  get redrive(): Adapter["redrive"] {
    return this.engine.redrive?.bind(this.engine);
  }

  get discardDeadLetters(): Adapter["discardDeadLetters"] {
    return this.engine.discardDeadLetters?.bind(this.engine);
  }

  get pause(): Adapter["pause"] {
    return this.engine.pause?.bind(this.engine);
  }

  get resume(): Adapter["resume"] {
    return this.engine.resume?.bind(this.engine);
  }

  async check(): Promise<CheckProblem[]> {
    const [engine, outbox] = await Promise.all([this.engine.check?.() ?? [], this.outbox.check()]);
    return [...engine, ...outbox];
  }

  async close(): Promise<void> {
    const relay = this.#relay;
    this.#relay = undefined;
    this.#relayStart = undefined;
    this.#users.clear();
    try {
      await relay?.stop();
      await this.engine.close();
    } finally {
      await this.outbox.close();
    }
  }
}

function infoOf(job: NewJob): JobInfo {
  const scheduled = job.runAt !== undefined && job.runAt > Date.now();
  return {
    id: job.id,
    name: job.name,
    queue: job.queue,
    status: scheduled ? "scheduled" : "queued",
    payload: job.payload,
    attempt: 0,
    maxAttempts: job.maxAttempts,
    enqueuedAt: job.enqueuedAt,
    ...(scheduled ? { runAt: job.runAt } : {}),
  };
}
