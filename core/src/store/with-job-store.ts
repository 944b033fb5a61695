import type { Capabilities } from "../capabilities.ts";
import type {
  Adapter,
  CheckProblem,
  ConsumeOptions,
  Consumer,
  Delivery,
  DeliveryHandler,
  EnqueueContext,
  EnqueueReceipt,
  JobChange,
  JobInfo,
  NewJob,
  Settlement,
} from "../contract.ts";
import { BulkEnqueueError, type SerializedError } from "../errors.ts";
import type { JsonValue } from "../json.ts";
import { DEFAULT_RETENTION } from "../retention.ts";
import type { JobOutcome, JobStart, JobStore, RecordReceipt, Retention, StartDecision } from "./contract.ts";
import { TickBatcher } from "./tick-batcher.ts";

export interface JobStoreOptions {
  /**
   * How long finished jobs are kept in the store. Default: the retention of the backend the adapter
   * is used through (as it passes it at enqueue and to workers), else succeeded 1 day, failed 7 days.
   */
  readonly retention?: Partial<Retention>;
  /**
   * How long a job recorded at enqueue may wait for the engine to confirm it before its
   * deduplication key is free again (the enqueuing process died in between). Default 60 s.
   */
  readonly claimMs?: number;
  /** How often a worker deletes records past their retention. Default 60 s. */
  readonly sweepIntervalMs?: number;
}

/** Which features the store provides, because the engine lacks them (or gives them another meaning). */
export interface StoreCoverage {
  readonly results: boolean;
  readonly cancel: boolean;
  readonly deduplication: boolean;
  readonly progress: boolean;
}

export function storeCoverage(engine: Capabilities): StoreCoverage {
  return {
    results: !engine.results,
    cancel: !engine.cancel,
    deduplication: engine.deduplication !== "until-finished",
    progress: !engine.progress,
  };
}

/**
 * An engine with a job store beside it, as one adapter: the capabilities are the union, and the
 * store is consulted only for what the engine lacks — an engine's native feature wins, so an
 * engine that lacks nothing is returned as it is and pays nothing.
 */
export function withJobStore(adapter: Adapter, store: JobStore, options: JobStoreOptions = {}): Adapter {
  const coverage = storeCoverage(adapter.capabilities);
  if (!coverage.results && !coverage.cancel && !coverage.deduplication && !coverage.progress) return adapter;
  return new StoreBackedAdapter(adapter, store, coverage, options);
}

/** The jobs one consumer has started and not settled, so a shutdown can give them back. */
interface ConsumerRun {
  readonly started: Set<string>;
  abandoned: boolean;
}

/** Jobs per record or confirm write at most: an `enqueueMany` of 1,000 takes one. */
const RECORD_BATCH = 1_000;

/** Dead letters a first listing reads, and at most recorded again or forgotten in one store write. */
const LETTER_PAGE = 10_000;

const CANCELLED_RESULT: Settlement = Object.freeze({ status: "succeeded", result: null, resultJson: "null" });

class StoreBackedAdapter implements Adapter {
  readonly name: string;
  readonly capabilities: Capabilities;
  readonly engine: Adapter;
  readonly store: JobStore;
  readonly #coverage: StoreCoverage;
  /** Records at enqueue, begins and settles: needed for results, cancel or deduplication. */
  readonly #tracking: boolean;
  /** The store's retention: the one given, else the backend's as it passes it, else the default. */
  #retention: Retention;
  readonly #retentionGiven: boolean;
  readonly #claimMs: number;
  readonly #sweepIntervalMs: number;
  /** Concurrent enqueues of one event-loop turn are recorded, and confirmed, in one write. */
  readonly #records: TickBatcher<NewJob, RecordReceipt>;
  readonly #confirms: TickBatcher<string, undefined>;
  readonly #begins: TickBatcher<JobStart, StartDecision>;
  readonly #settles: TickBatcher<JobOutcome, undefined>;
  /** Cancel switches of the jobs this process runs now. */
  readonly #running = new Map<string, AbortController>();
  readonly #listeners = new Set<(change: JobChange) => void>();
  #watching: Promise<() => Promise<void>> | undefined;
  #sweeper: NodeJS.Timeout | undefined;

  constructor(engine: Adapter, store: JobStore, coverage: StoreCoverage, options: JobStoreOptions) {
    this.engine = engine;
    this.store = store;
    this.name = engine.name;
    this.#coverage = coverage;
    this.#tracking = coverage.results || coverage.cancel || coverage.deduplication;
    this.#retention = { ...DEFAULT_RETENTION, ...options.retention };
    this.#retentionGiven = options.retention !== undefined;
    this.#claimMs = options.claimMs ?? 60_000;
    this.#sweepIntervalMs = options.sweepIntervalMs ?? 60_000;
    this.#records = new TickBatcher((jobs) => store.record(jobs, this.#claimMs), RECORD_BATCH);
    this.#confirms = new TickBatcher<string, undefined>(async (ids) => {
      await store.confirm(ids);
      return [];
    }, RECORD_BATCH);
    this.#begins = new TickBatcher((starts) => store.begin(starts));
    this.#settles = new TickBatcher<JobOutcome, undefined>(async (outcomes) => {
      await store.settle(outcomes, this.#retention);
      return [];
    });
    const { deduplicationWindowMs: _window, ...caps } = engine.capabilities;
    this.capabilities = Object.freeze({
      ...caps,
      results: true,
      cancel: true,
      // The store's cancel reaches running jobs too; an engine's own cancel keeps its own reach.
      cancelRunning: coverage.cancel ? true : (caps.cancelRunning ?? false),
      deduplication: "until-finished",
      progress: true,
      // With results from the store, finished jobs go by the store's retention (its TTLs or sweep),
      // which is the backend's unless the store was given its own.
      retention: coverage.results ? true : (caps.retention ?? false),
      // A store that records every job can count and list them where the engine cannot.
      stats: caps.stats === true || (this.#tracking && store.stats !== undefined),
      listJobs: caps.listJobs === true || (this.#tracking && store.listJobs !== undefined),
      ...(_window !== undefined && !coverage.deduplication ? { deduplicationWindowMs: _window } : {}),
    } satisfies Capabilities);
  }

  /** Adopt the backend's retention, unless the store was given one. */
  #adopt(retention: Retention | undefined): void {
    if (retention !== undefined && !this.#retentionGiven) this.#retention = retention;
  }

  async enqueue(jobs: readonly NewJob[], context: EnqueueContext): Promise<EnqueueReceipt[]> {
    this.#adopt(context.retention);
    if (!this.#tracking) return this.engine.enqueue(jobs, context);
    const receipts: EnqueueReceipt[] = await Promise.all(jobs.map((job) => this.#records.add(job)));
    const fresh: NewJob[] = [];
    const positions: number[] = [];
    for (let i = 0; i < jobs.length; i++) {
      const job = jobs[i] as NewJob;
      // A repeat finds its own record: the enqueue before may have died before the engine had it.
      if (receipts[i]?.deduplicated && !(context.repeated && receipts[i]?.id === job.id)) continue;
      fresh.push(this.#coverage.deduplication ? withoutKey(job) : job);
      positions.push(i);
    }
    if (fresh.length === 0) return receipts;
    let stored: EnqueueReceipt[];
    try {
      stored = await this.engine.enqueue(fresh, context);
    } catch (error) {
      await this.#undo(fresh, error);
      throw error;
    }
    for (let i = 0; i < positions.length; i++) receipts[positions[i] as number] = stored[i] ?? { id: (fresh[i] as NewJob).id };
    // Inside a caller's transaction the engine holds the jobs only if it commits: the records stay
    // pending, so a rollback leaves no key held past the claim.
    if (context.transaction === undefined) {
      // The engine holds the jobs: a failed confirm only shortens how long their keys are held.
      await Promise.all(fresh.map((job) => this.#confirms.add(job.id))).catch(() => {});
    }
    return receipts;
  }

  /** The engine refused some or all of a batch: forget what it did not store, keep what it did. */
  async #undo(fresh: readonly NewJob[], error: unknown): Promise<void> {
    const kept = new Set(error instanceof BulkEnqueueError ? error.storedIds : []);
    const lost = fresh.filter((job) => !kept.has(job.id)).map((job) => job.id);
    await Promise.allSettled([this.store.forget(lost), kept.size > 0 ? this.store.confirm([...kept]) : undefined]);
  }

  async consume(options: ConsumeOptions, handler: DeliveryHandler): Promise<Consumer> {
    this.#adopt(options.retention);
    if (this.#tracking) await this.#watch();
    this.#startSweeping(options.onError);
    if (!this.#tracking) return this.engine.consume(options, (delivery) => this.#runWithProgress(delivery, handler, options.onError));
    const run: ConsumerRun = { started: new Set(), abandoned: false };
    const consumer = await this.engine.consume(options, (delivery) => this.#run(delivery, handler, options.onError, run));
    return {
      stop: () => consumer.stop(),
      abandon: async () => {
        // A shutdown past its grace period, not a crash: the jobs go back unrun and keep their attempts.
        run.abandoned = true;
        const ids = [...run.started];
        run.started.clear();
        await Promise.allSettled(ids.map((id) => this.#settles.add({ id, status: "returned" })));
        await consumer.abandon();
      },
    };
  }

  async #run(delivery: Delivery, handler: DeliveryHandler, onError: ConsumeOptions["onError"], consumer: ConsumerRun): Promise<Settlement> {
    let decision: StartDecision;
    try {
      decision = await this.#begins.add(startOf(delivery));
    } catch (error) {
      // Without the store the job's status cannot be kept: give it back to the engine to run later.
      onError?.(error as Error);
      return { status: "failed", error: storeDown(this.store.name, error), retryInMs: 1_000 };
    }
    if (!decision.run) return settlementOf(decision.info);
    const cancel = new AbortController();
    this.#running.set(delivery.id, cancel);
    consumer.started.add(delivery.id);
    const signal = delivery.signal ? AbortSignal.any([delivery.signal, cancel.signal]) : cancel.signal;
    let settlement: Settlement;
    try {
      settlement = await handler(this.#deliveryWith(delivery, decision.attempt, signal));
    } finally {
      this.#running.delete(delivery.id);
    }
    // Given back already: the engine delivers it again, and the store was told so.
    if (!consumer.started.delete(delivery.id) && consumer.abandoned) return settlement;
    if (cancel.signal.aborted) {
      await this.#record({ id: delivery.id, status: "cancelled" }, onError);
      // A body that outlived the cancel keeps its slot all the same.
      return settlement.slotFreed ? { ...CANCELLED_RESULT, slotFreed: settlement.slotFreed } : CANCELLED_RESULT;
    }
    await this.#record(outcomeOf(delivery.id, settlement), onError);
    return settlement;
  }

  /**
   * An engine that keeps its jobs itself and lacks only progress: the store records a job only when
   * it reports progress — begun at its first report, settled when the attempt ends, so that retention
   * removes the record — and a job that reports none costs the store nothing.
   */
  async #runWithProgress(delivery: Delivery, handler: DeliveryHandler, onError: ConsumeOptions["onError"]): Promise<Settlement> {
    let begun: Promise<unknown> | undefined;
    let last: Promise<void> = Promise.resolve();
    const progress = (value: JsonValue): Promise<void> => {
      const valueJson = JSON.stringify(value);
      begun ??= this.#begins.add(startOf(delivery));
      // Reports are written one after another, so the last one is what the store keeps.
      const written = Promise.all([begun, last.catch(() => {})]).then(() => this.store.progress(delivery.id, valueJson));
      last = written;
      return written;
    };
    const settlement = await handler(this.#deliveryWith(delivery, delivery.attempt, delivery.signal, progress));
    // The record is settled when it was made (its begin went through), after the last report.
    const recorded = await begun?.then(
      () => true,
      () => false,
    );
    if (recorded) {
      await last.catch(() => {});
      await this.#record(outcomeOf(delivery.id, settlement), onError);
    }
    return settlement;
  }

  /** Write an outcome; a store that is down is reported, and the engine is settled all the same. */
  async #record(outcome: JobOutcome, onError: ConsumeOptions["onError"]): Promise<void> {
    try {
      await this.#settles.add(outcome);
    } catch (error) {
      onError?.(error as Error);
    }
  }

  #deliveryWith(
    delivery: Delivery,
    attempt: number,
    signal: AbortSignal | undefined,
    progress: Delivery["progress"] = this.#coverage.progress
      ? (value: JsonValue) => this.store.progress(delivery.id, JSON.stringify(value))
      : delivery.progress?.bind(delivery),
  ): Delivery {
    const out: { -readonly [K in keyof Delivery]: Delivery[K] } = {
      id: delivery.id,
      name: delivery.name,
      queue: delivery.queue,
      payload: delivery.payload,
      attempt,
      maxAttempts: delivery.maxAttempts,
    };
    if (delivery.timeoutMs !== undefined) out.timeoutMs = delivery.timeoutMs;
    if (delivery.headers !== undefined) out.headers = delivery.headers;
    if (signal !== undefined) out.signal = signal;
    if (progress !== undefined) out.progress = progress;
    return out;
  }

  async getJob(id: string, queue: string): Promise<JobInfo | null> {
    if (this.#coverage.results) return this.store.get(id);
    const info = (await this.engine.getJob?.(id, queue)) ?? null;
    if (!info || !this.#coverage.progress) return info;
    const stored = await this.store.get(id);
    return stored?.progress === undefined ? info : { ...info, progress: stored.progress };
  }

  async cancel(id: string, queue: string): Promise<boolean> {
    if (!this.#coverage.cancel) return (await this.engine.cancel?.(id, queue)) ?? false;
    return (await this.store.cancel(id, this.#retention)) !== false;
  }

  async watch(listener: (change: JobChange) => void): Promise<() => Promise<void>> {
    if (!this.#tracking) return this.engine.watch ? this.engine.watch(listener) : async () => {};
    await this.#watch();
    this.#listeners.add(listener);
    return async () => {
      this.#listeners.delete(listener);
    };
  }

  /** One subscription to the store per adapter, shared by cancels and `wait()`s. */
  #watch(): Promise<unknown> {
    this.#watching ??= this.store
      .watch((change) => {
        if (change.cancelRequested) this.#running.get(change.id)?.abort(new DOMException("the job was cancelled", "AbortError"));
        for (const listener of this.#listeners) listener(change);
      })
      .catch((error: unknown) => {
        // A store that was down is asked again next time, rather than failing every later worker.
        this.#watching = undefined;
        throw error;
      });
    return this.#watching;
  }

  #startSweeping(onError: ConsumeOptions["onError"]): void {
    if (this.#sweeper) return;
    this.#sweeper = setInterval(() => {
      this.store.sweep(this.#retention).catch((error: unknown) => onError?.(error as Error));
    }, this.#sweepIntervalMs);
    this.#sweeper.unref();
  }

  async check(): Promise<CheckProblem[]> {
    const [engine, store] = await Promise.all([this.engine.check?.() ?? [], this.store.check()]);
    return [...engine, ...store];
  }

  async close(): Promise<void> {
    clearInterval(this.#sweeper);
    this.#sweeper = undefined;
    const watching = this.#watching;
    this.#watching = undefined;
    const stop = await watching?.catch(() => undefined);
    await Promise.allSettled([stop?.(), this.engine.close()]);
    await this.store.close();
  }

  get listDeadLetters(): Adapter["listDeadLetters"] {
    return this.engine.listDeadLetters?.bind(this.engine);
  }

  /** The engine's own counts where it has them, else the store's records (see `JobStore.stats`). */
  get stats(): Adapter["stats"] {
    if (this.engine.capabilities.stats) return this.engine.stats?.bind(this.engine);
    return this.capabilities.stats ? this.store.stats?.bind(this.store) : undefined;
  }

  get listJobs(): Adapter["listJobs"] {
    if (this.engine.capabilities.listJobs) return this.engine.listJobs?.bind(this.engine);
    return this.capabilities.listJobs ? this.store.listJobs?.bind(this.store) : undefined;
  }

  get pause(): Adapter["pause"] {
    return this.engine.pause?.bind(this.engine);
  }

  get resume(): Adapter["resume"] {
    return this.engine.resume?.bind(this.engine);
  }

  /**
   * Redrive through the engine, after recording the jobs again in the store: a redriven job that
   * the store still knew as failed for good would be skipped when delivered. Only the letters
   * found are recorded again and passed on, so a job that is not a dead letter keeps its record,
   * and a letter that arrives meanwhile is left for the next redrive rather than sent back unrecorded.
   */
  get redrive(): Adapter["redrive"] {
    const engine = this.engine;
    if (!engine.redrive || !engine.listDeadLetters) return undefined;
    if (!this.#tracking) return engine.redrive.bind(engine);
    const redrive = engine.redrive.bind(engine);
    return async (queue, ids) => {
      const letters = await this.#deadLetters(queue, ids);
      if (letters.length === 0) return 0;
      for (let i = 0; i < letters.length; i += LETTER_PAGE) {
        const again = letters.slice(i, i + LETTER_PAGE).map((letter) => recordOf(letter, queue));
        const chosen = again.map((job) => job.id);
        await this.store.forget(chosen);
        await this.store.record(again, this.#claimMs);
        await this.store.confirm(chosen);
      }
      const found = letters.map((letter) => letter.id);
      return redrive(queue, found);
    };
  }

  /**
   * Discard through the engine, then forget the jobs in the store too: a discarded job's status
   * reads as `null`, as the engine's own record does. Only ids the engine lists as dead letters
   * are passed on, so a job that is not one keeps its record in the store.
   */
  get discardDeadLetters(): Adapter["discardDeadLetters"] {
    const engine = this.engine;
    if (!engine.discardDeadLetters || !engine.listDeadLetters) return undefined;
    if (!this.#tracking) return engine.discardDeadLetters.bind(engine);
    const list = engine.listDeadLetters.bind(engine);
    const discard = engine.discardDeadLetters.bind(engine);
    return async (queue, ids) => {
      if (ids) {
        const chosen = (await this.#deadLetters(queue, ids)).map((letter) => letter.id);
        if (chosen.length === 0) return 0;
        const count = await discard(queue, chosen);
        for (let i = 0; i < chosen.length; i += LETTER_PAGE) await this.store.forget(chosen.slice(i, i + LETTER_PAGE));
        return count;
      }
      let discarded = 0;
      // All of them a page at a time: discarded letters leave the listing, so the next page is older.
      for (;;) {
        const chosen = (await list(queue, LETTER_PAGE)).map((letter) => letter.id);
        const count = chosen.length > 0 ? await discard(queue, chosen) : 0;
        if (chosen.length > 0) await this.store.forget(chosen);
        discarded += count;
        if (chosen.length < LETTER_PAGE || count === 0) return discarded;
      }
    };
  }

  /**
   * The dead letters of `queue` with `ids` (all when absent), however old, each once. A listing
   * has no offset, only a limit on the newest: it is read again with twice the limit until it
   * holds every id asked for or ends, so at most about twice the letters there are get read.
   */
  async #deadLetters(queue: string, ids: readonly string[] | undefined): Promise<JobInfo[]> {
    const list = (this.engine.listDeadLetters as NonNullable<Adapter["listDeadLetters"]>).bind(this.engine);
    const wanted = ids ? new Set(ids) : undefined;
    if (wanted?.size === 0) return [];
    for (let limit = LETTER_PAGE; ; limit *= 2) {
      const letters = await list(queue, limit);
      const found = new Map<string, JobInfo>();
      // Newest first: a job dead twice over (a redrive cut short, then a second failure) counts once.
      for (const letter of letters) if (!found.has(letter.id) && (!wanted || wanted.has(letter.id))) found.set(letter.id, letter);
      if (letters.length < limit || (wanted && found.size === wanted.size)) return [...found.values()];
    }
  }
}

/** A dead letter as the store records it again for a redrive: queued, its attempts starting over. */
function recordOf(letter: JobInfo, queue: string): NewJob {
  return {
    id: letter.id,
    name: letter.name,
    queue,
    payload: letter.payload as JsonValue,
    payloadJson: JSON.stringify(letter.payload ?? null),
    priority: 0,
    maxAttempts: letter.maxAttempts,
    enqueuedAt: Date.now(),
  };
}

function startOf(delivery: Delivery): JobStart {
  return { id: delivery.id, name: delivery.name, queue: delivery.queue, attempt: delivery.attempt, maxAttempts: delivery.maxAttempts };
}

function withoutKey(job: NewJob): NewJob {
  const { deduplicationKey: _key, ...rest } = job;
  return rest;
}

function outcomeOf(id: string, settlement: Settlement): JobOutcome {
  if (settlement.status === "succeeded") return { id, status: "succeeded", resultJson: settlement.resultJson };
  if (settlement.retryInMs === undefined) return { id, status: "failed", error: settlement.error };
  return { id, status: "failed", error: settlement.error, retryAt: Date.now() + settlement.retryInMs };
}

/** How the engine settles a redelivery of a job the store already saw finish. */
function settlementOf(info: JobInfo): Settlement {
  if (info.status === "succeeded") {
    const result = (info.result ?? null) as JsonValue;
    return { status: "succeeded", result, resultJson: JSON.stringify(result) };
  }
  if (info.status === "failed") return { status: "failed", error: info.error ?? { name: "Error", message: "failed" } };
  return CANCELLED_RESULT;
}

function storeDown(store: string, error: unknown): SerializedError {
  const message = error instanceof Error ? error.message : String(error);
  return { name: "StoreUnavailableError", message: `[taskport] [${store}] could not record the job's start: ${message}` };
}
