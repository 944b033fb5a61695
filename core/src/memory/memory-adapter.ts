import { isTimeoutParam } from "../backends/deadlines.ts";
import { ALL_CAPABILITIES, type Capabilities } from "../capabilities.ts";
import type {
  Adapter,
  CheckProblem,
  ConsumeOptions,
  Consumer,
  Delivery,
  DeliveryHandler,
  EnqueueContext,
  EnqueueReceipt,
  JobInfo,
  JobListOptions,
  JobPage,
  NewJob,
  QueueStats,
  Settlement,
} from "../contract.ts";
import { ConfigurationError, ValidationError } from "../errors.ts";
import type { JsonValue } from "../json.ts";
import type { Retention } from "../retention.ts";
import { DelayHeap } from "./delay-heap.ts";
import { Deque } from "./deque.ts";
import { pageOf, statsOf } from "./memory-inspection.ts";
import { FORGOTTEN, INDEXED, MemoryJob, PENDING } from "./memory-job.ts";
import { MemoryTransaction } from "./memory-transaction.ts";
import { ReadyQueue } from "./ready-queue.ts";

export interface MemoryAdapterOptions {
  /** Finished jobs kept for `getJob` and `wait()`, most recent first. Default 10,000. */
  readonly retainFinished?: number;
  /** Failed jobs kept per queue as dead letters. Default 1,000. */
  readonly retainDeadLetters?: number;
  /** Reject payloads larger than this many bytes. Default: no limit. */
  readonly maxPayloadBytes?: number;
}

/** Longest single timer; longer delays re-arm, since `setTimeout` overflows past ~24.8 days. */
const MAX_TIMER_MS = 3_600_000;

/**
 * The in-process engine: the embedded default, the reference implementation of every capability,
 * and the engine the test helpers build on. Jobs live in this process only; they are lost when it
 * exits, so use it for development, tests and work that may be lost.
 */
export class MemoryAdapter implements Adapter {
  readonly name = "memory";
  readonly capabilities: Capabilities;
  readonly #retainFinished: number;
  readonly #retainDeadLetters: number;
  /** Jobs by id, brought up to date from `#unindexed` by `#index()` before every lookup. */
  readonly #jobs = new Map<string, MemoryJob>();
  /**
   * Jobs stored since the last lookup by id, in the order stored. Most jobs are never looked up:
   * keeping a Map of every job held cost a third of the engine's time, so a job enters the Map only
   * when something asks for one.
   */
  #unindexed = new Deque<MemoryJob>();
  /** Entries of `#unindexed` forgotten and still in it. */
  #unindexedForgotten = 0;
  readonly #ready = new Map<string, ReadyQueue<MemoryJob>>();
  readonly #delayed = new DelayHeap<MemoryJob>();
  readonly #dedup = new Map<string, MemoryJob>();
  readonly #finished = new Deque<MemoryJob>();
  readonly #deadLetters = new Map<string, Deque<MemoryJob>>();
  readonly #consumers = new Map<string, MemoryConsumer[]>();
  readonly #dirtyQueues = new Set<string>();
  readonly #paused = new Set<string>();
  #seq = 0;
  #lease = 0;
  #timer: NodeJS.Timeout | undefined;
  #timerAt = 0;
  #dispatchScheduled = false;

  constructor(options: MemoryAdapterOptions = {}) {
    this.#retainFinished = options.retainFinished ?? 10_000;
    this.#retainDeadLetters = options.retainDeadLetters ?? 1_000;
    this.capabilities = Object.freeze({
      ...ALL_CAPABILITIES,
      ...(options.maxPayloadBytes !== undefined ? { maxPayloadBytes: options.maxPayloadBytes } : {}),
    });
  }

  /** Start a transaction: jobs enqueued with `{ transaction }` appear only on `commit()`. */
  transaction(): MemoryTransaction {
    return new MemoryTransaction((jobs) => this.#store(jobs));
  }

  async enqueue(jobs: readonly NewJob[], context: EnqueueContext): Promise<EnqueueReceipt[]> {
    if (context.transaction !== undefined) {
      if (!(context.transaction instanceof MemoryTransaction)) {
        throw new ValidationError("memory", "transaction must come from memoryAdapter.transaction().");
      }
      return context.transaction.add(jobs, (job) => this.#dedupHit(job));
    }
    return this.#store(jobs, context.retention);
  }

  #dedupHit(job: NewJob): MemoryJob | undefined {
    return job.deduplicationKey === undefined ? undefined : this.#dedup.get(dedupKey(job.queue, job.deduplicationKey));
  }

  #store(jobs: readonly NewJob[], retention?: Retention): EnqueueReceipt[] {
    const receipts: EnqueueReceipt[] = new Array(jobs.length);
    const now = Date.now();
    let readyName: string | undefined;
    let ready: ReadyQueue<MemoryJob> | undefined;
    for (let i = 0; i < jobs.length; i++) {
      const input = jobs[i] as NewJob;
      if (input.deduplicationKey !== undefined) {
        const key = dedupKey(input.queue, input.deduplicationKey);
        const existing = this.#dedup.get(key);
        if (existing) {
          receipts[i] = { id: existing.id, deduplicated: true };
          continue;
        }
      }
      const runAt = input.runAt !== undefined && input.runAt > now ? input.runAt : 0;
      const job = new MemoryJob(
        input.id,
        input.name,
        input.queue,
        input.payloadJson,
        input.priority,
        input.maxAttempts,
        input.timeoutMs,
        input.deduplicationKey,
        input.enqueuedAt,
        runAt,
        ++this.#seq,
      );
      if (input.headers !== undefined) job.headers = input.headers;
      if (retention !== undefined) job.retention = retention;
      this.#unindexed.push(job);
      if (job.deduplicationKey !== undefined) this.#dedup.set(dedupKey(job.queue, job.deduplicationKey), job);
      if (runAt > 0) {
        this.#schedule(job);
      } else {
        // A batch is one task's jobs, so one queue: its ready queue is looked up once.
        if (job.queue !== readyName) {
          readyName = job.queue;
          ready = this.#readyQueue(readyName);
          this.#dirtyQueues.add(readyName);
        }
        job.readyAt = now;
        (ready as ReadyQueue<MemoryJob>).push(job, job.priority);
      }
      receipts[i] = input; // a NewJob is a receipt for itself (same id): no allocation per job
    }
    if (readyName !== undefined) this.#scheduleDispatch(); // once per batch, not per job
    return receipts;
  }

  async consume(options: ConsumeOptions, handler: DeliveryHandler): Promise<Consumer> {
    const consumer = new MemoryConsumer(
      this,
      options,
      handler,
      options.queues.map((queue) => this.#readyQueue(queue)),
    );
    for (const queue of options.queues) {
      const list = this.#consumers.get(queue) ?? [];
      list.push(consumer);
      this.#consumers.set(queue, list);
      this.#dirtyQueues.add(queue);
    }
    this.#scheduleDispatch();
    return consumer;
  }

  async getJob(id: string, queue: string): Promise<JobInfo | null> {
    const job = this.#lookup(id);
    if (!job || job.queue !== queue || expired(job, Date.now())) return null;
    return toInfo(job);
  }

  async cancel(id: string, queue: string): Promise<boolean> {
    const job = this.#lookup(id);
    if (!job || job.queue !== queue) return false;
    if (job.status === "queued" || job.status === "scheduled") {
      // Left in the ready queue or heap and skipped when reached: removal there would be O(n).
      this.#finish(job, "cancelled");
      return true;
    }
    if (job.status === "running") {
      job.abort ??= new AbortController();
      job.abort.abort(new DOMException(`job ${id} was cancelled`, "AbortError"));
      return true;
    }
    return false;
  }

  /** Jobs of `queue` that failed for good, newest first. */
  async listDeadLetters(queue: string, limit = 100): Promise<JobInfo[]> {
    const list = this.#deadLetters.get(queue);
    if (!list) return [];
    const out: JobInfo[] = [];
    // The deque is oldest-first; walk it by draining a copy (it is small and bounded).
    const all: MemoryJob[] = [];
    for (let job = list.shift(); job; job = list.shift()) all.push(job);
    for (const job of all) list.push(job);
    const now = Date.now();
    for (let i = all.length - 1; i >= 0 && out.length < limit; i--) {
      const job = all[i] as MemoryJob;
      if (!expired(job, now)) out.push(toInfo(job));
    }
    return out;
  }

  async stats(queues?: readonly string[]): Promise<QueueStats[]> {
    return statsOf(this.#kept(), queues ? new Set(queues) : undefined, this.#paused, Date.now());
  }

  async listJobs(queue: string, options: JobListOptions): Promise<JobPage> {
    return pageOf(this.#kept(), queue, options, toInfo);
  }

  /** Every job held, less finished ones past their retention not yet pruned. */
  *#kept(): Generator<MemoryJob> {
    this.#index();
    const now = Date.now();
    for (const job of this.#jobs.values()) if (!expired(job, now)) yield job;
  }

  async redrive(queue: string, ids?: readonly string[]): Promise<number> {
    const letters = this.#deadLetters.get(queue);
    if (!letters) return 0;
    const wanted = ids ? new Set(ids) : undefined;
    const kept = new Deque<MemoryJob>();
    this.#index();
    let sent = 0;
    for (let job = letters.shift(); job; job = letters.shift()) {
      if (job.status !== "failed" || (wanted && !wanted.has(job.id))) {
        if (job.status === "failed") kept.push(job);
        continue;
      }
      job.attempt = 0;
      job.error = undefined;
      job.finishedAt = 0;
      job.seq = ++this.#seq;
      this.#jobs.set(job.id, job);
      job.indexState = INDEXED;
      this.#makeReady(job);
      sent++;
    }
    this.#deadLetters.set(queue, kept);
    return sent;
  }

  async discardDeadLetters(queue: string, ids?: readonly string[]): Promise<number> {
    const letters = this.#deadLetters.get(queue);
    if (!letters) return 0;
    const wanted = ids ? new Set(ids) : undefined;
    const kept = new Deque<MemoryJob>();
    let discarded = 0;
    const now = Date.now();
    // A discarded job must leave the index; one not indexed yet would enter it at the next lookup.
    this.#index();
    // Letters past their retention are no longer listed, so they are dropped but not counted.
    for (let job = letters.shift(); job; job = letters.shift()) {
      if (job.status !== "failed" || expired(job, now)) continue;
      if (wanted && !wanted.has(job.id)) {
        kept.push(job);
        continue;
      }
      // Left in the finished deque, which skips a job already forgotten when it comes to it.
      this.#forget(job);
      discarded++;
    }
    this.#deadLetters.set(queue, kept);
    return discarded;
  }

  async pause(queue: string): Promise<void> {
    this.#paused.add(queue);
    this.#readyQueue(queue).paused = true;
  }

  async resume(queue: string): Promise<void> {
    if (!this.#paused.delete(queue)) return;
    this.#readyQueue(queue).paused = false;
    this.#dirtyQueues.add(queue);
    this.#scheduleDispatch();
  }

  async check(): Promise<CheckProblem[]> {
    return [];
  }

  async close(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** Jobs held now, by where they are; for tests and the memory benchmark. */
  holding(): { jobs: number; delayed: number; ready: number } {
    let ready = 0;
    for (const queue of this.#ready.values()) ready += queue.length;
    this.#index();
    return { jobs: this.#jobs.size, delayed: this.#delayed.length, ready };
  }

  // ── the index by id ───────────────────────────────────────────────────────

  #lookup(id: string): MemoryJob | undefined {
    this.#index();
    return this.#jobs.get(id);
  }

  /** Bring `#jobs` up to date: the jobs stored since, in the order stored, as if each had been set then. */
  #index(): void {
    const pending = this.#unindexed;
    for (let job = pending.shift(); job; job = pending.shift()) {
      if (job.indexState !== PENDING) continue;
      job.indexState = INDEXED;
      this.#jobs.set(job.id, job);
    }
    this.#unindexedForgotten = 0;
  }

  /** A finished job past retention leaves the index, or is skipped by it when not indexed yet. */
  #forget(job: MemoryJob): void {
    if (job.indexState === INDEXED) {
      if (this.#jobs.get(job.id) === job) this.#jobs.delete(job.id);
      job.indexState = FORGOTTEN;
    } else if (job.indexState === PENDING) {
      job.indexState = FORGOTTEN;
      this.#unindexedForgotten++;
      // Jobs are mostly forgotten in the order they were stored: drop them from the front, while
      // they are still in the cache. One that stays (delayed, say) holds up the rest: past half
      // the list, copy out what is still pending.
      const list = this.#unindexed;
      for (let first = list.peek(); first && first.indexState !== PENDING; first = list.peek()) {
        list.shift();
        this.#unindexedForgotten--;
      }
      if (this.#unindexedForgotten > 1024 && this.#unindexedForgotten * 2 > list.length) {
        const kept = new Deque<MemoryJob>();
        for (let pending = list.shift(); pending; pending = list.shift()) if (pending.indexState === PENDING) kept.push(pending);
        this.#unindexed = kept;
        this.#unindexedForgotten = 0;
      }
    }
  }

  // ── delivery ──────────────────────────────────────────────────────────────

  #makeReady(job: MemoryJob, front = false): void {
    this.#pushReady(job, front);
    this.#dirtyQueues.add(job.queue);
    this.#scheduleDispatch();
  }

  #pushReady(job: MemoryJob, front = false): void {
    job.runAt = 0;
    job.readyAt = Date.now();
    job.status = "queued";
    this.#readyQueue(job.queue).push(job, job.priority, front);
  }

  #readyQueue(name: string): ReadyQueue<MemoryJob> {
    let queue = this.#ready.get(name);
    if (!queue) {
      queue = new ReadyQueue();
      queue.paused = this.#paused.has(name);
      this.#ready.set(name, queue);
    }
    return queue;
  }

  #scheduleDispatch(): void {
    if (this.#dispatchScheduled) return;
    this.#dispatchScheduled = true;
    // Batch a burst of enqueues into one dispatch, and never run handlers inside enqueue().
    queueMicrotask(() => {
      this.#dispatchScheduled = false;
      const queues = [...this.#dirtyQueues];
      this.#dirtyQueues.clear();
      for (const queue of queues) this.#dispatchQueue(queue);
    });
  }

  #dispatchQueue(queue: string): void {
    const consumers = this.#consumers.get(queue);
    if (!consumers) return;
    for (const consumer of consumers) consumer.fill();
  }

  /** Next job for a consumer: the highest-priority head among its queues. */
  takeFor(queues: readonly ReadyQueue<MemoryJob>[]): MemoryJob | undefined {
    for (;;) {
      let best: ReadyQueue<MemoryJob> | undefined;
      let bestPriority = Number.NEGATIVE_INFINITY;
      for (let i = 0; i < queues.length; i++) {
        const queue = queues[i] as ReadyQueue<MemoryJob>;
        if (!queue.paused && queue.length > 0 && queue.topPriority > bestPriority) {
          best = queue;
          bestPriority = queue.topPriority;
        }
      }
      if (!best) return undefined;
      const job = best.shift() as MemoryJob;
      if (job.status === "queued") return job; // cancelled ones are skipped here
    }
  }

  /** Hand a job to a consumer's handler; `done` runs after its settlement is applied. */
  deliver(job: MemoryJob, consumer: MemoryConsumer, done: (job: MemoryJob, settlement: Settlement) => void): void {
    job.status = "running";
    job.attempt++;
    const lease = ++this.#lease;
    job.lease = lease;
    consumer.handler(new MemoryDelivery(job)).then((settlement) => {
      this.#settle(job, lease, settlement);
      done(job, settlement);
    });
  }

  /** Put a job handed out but never settled back at the front of its queue (crash, abandon). */
  redeliver(job: MemoryJob): void {
    if (job.status !== "running") return;
    job.lease = 0;
    this.#makeReady(job, true);
  }

  #settle(job: MemoryJob, lease: number, settlement: Settlement): void {
    if (job.lease !== lease) return; // abandoned: the job was already given back
    job.lease = 0;
    if (job.abort?.signal.aborted) {
      this.#finish(job, "cancelled");
    } else if (settlement.status === "succeeded") {
      job.resultJson = settlement.resultJson;
      this.#finish(job, "succeeded");
    } else if (settlement.retryInMs !== undefined) {
      job.error = settlement.error;
      if (settlement.retryInMs > 0) {
        job.runAt = Date.now() + settlement.retryInMs;
        job.seq = ++this.#seq;
        job.status = "scheduled";
        this.#schedule(job);
      } else {
        this.#makeReady(job);
      }
    } else {
      job.error = settlement.error;
      this.#finish(job, "failed");
      let letters = this.#deadLetters.get(job.queue);
      if (!letters) {
        letters = new Deque();
        this.#deadLetters.set(job.queue, letters);
      }
      letters.push(job);
      for (let old = letters.peek(); old; old = letters.peek()) {
        if (letters.length <= this.#retainDeadLetters && !expired(old, job.finishedAt)) break;
        letters.shift();
      }
    }
  }

  #finish(job: MemoryJob, status: "succeeded" | "failed" | "cancelled"): void {
    job.status = status;
    job.finishedAt = Date.now();
    job.abort = undefined;
    if (job.deduplicationKey !== undefined) {
      const key = dedupKey(job.queue, job.deduplicationKey);
      if (this.#dedup.get(key) === job) this.#dedup.delete(key);
    }
    this.#finished.push(job);
    // Oldest first: past the count, or past its retention, a finished job is forgotten.
    const now = job.finishedAt;
    for (let old = this.#finished.peek(); old; old = this.#finished.peek()) {
      if (this.#finished.length <= this.#retainFinished && old.finishedAt > 0 && !expired(old, now)) break;
      this.#finished.shift();
      if (old.finishedAt > 0) this.#forget(old);
    }
  }

  // ── delays ────────────────────────────────────────────────────────────────

  #schedule(job: MemoryJob): void {
    this.#delayed.push(job);
    if (this.#timer === undefined || job.runAt < this.#timerAt) this.#arm(job.runAt);
  }

  #arm(at: number): void {
    clearTimeout(this.#timer);
    this.#timerAt = at;
    this.#timer = setTimeout(() => this.#promoteDue(), Math.min(Math.max(at - Date.now(), 0), MAX_TIMER_MS));
    // Delayed jobs alone do not keep a process alive; a running consumer does.
    this.#timer.unref();
  }

  #promoteDue(): void {
    this.#timer = undefined;
    const now = Date.now();
    for (let next = this.#delayed.peek(); next && next.runAt <= now; next = this.#delayed.peek()) {
      const job = this.#delayed.pop() as MemoryJob;
      if (job.status === "scheduled") this.#makeReady(job);
    }
    const next = this.#delayed.peek();
    if (next) this.#arm(next.runAt);
  }

  detach(consumer: MemoryConsumer): void {
    for (const queue of consumer.queues) {
      const list = this.#consumers.get(queue);
      if (!list) continue;
      const rest = list.filter((c) => c !== consumer);
      if (rest.length > 0) this.#consumers.set(queue, rest);
      else this.#consumers.delete(queue);
      this.#dirtyQueues.add(queue);
    }
    this.#scheduleDispatch();
  }
}

/** One `consume` call: a concurrency slot count and the jobs it holds. */
class MemoryConsumer implements Consumer {
  readonly queues: readonly string[];
  readonly handler: DeliveryHandler;
  readonly #adapter: MemoryAdapter;
  readonly #concurrency: number;
  /** Its queues' ready jobs, resolved once: a take looks nothing up by name. */
  readonly #ready: readonly ReadyQueue<MemoryJob>[];
  /** Jobs handed to the handler and not settled; each knows its index here (`slot`), so none is hashed. */
  readonly #inFlight: MemoryJob[] = [];
  /** Handler bodies running on past their job's settlement: each still holds its slot. */
  #overrunning = 0;
  #stopped = false;
  #idle: (() => void)[] = [];
  /** A ref'd timer: like a socket for a real engine, a consumer keeps the process alive. */
  #keepAlive: NodeJS.Timeout | undefined = setInterval(() => {}, 1 << 30);

  constructor(adapter: MemoryAdapter, options: ConsumeOptions, handler: DeliveryHandler, ready: readonly ReadyQueue<MemoryJob>[]) {
    this.#adapter = adapter;
    this.#ready = ready;
    this.queues = [...options.queues];
    this.#concurrency = options.concurrency;
    this.handler = handler;
  }

  fill(): void {
    while (!this.#stopped && this.#inFlight.length + this.#overrunning < this.#concurrency) {
      const job = this.#adapter.takeFor(this.#ready);
      if (!job) return;
      job.slot = this.#inFlight.length;
      this.#inFlight.push(job);
      this.#adapter.deliver(job, this, this.#done);
    }
  }

  /** Take `job` out of the jobs in flight; false when this consumer no longer holds it (abandoned). */
  #release(job: MemoryJob): boolean {
    const inFlight = this.#inFlight;
    if (job.slot < 0 || inFlight[job.slot] !== job) return false;
    const last = inFlight.pop() as MemoryJob;
    if (last !== job) {
      inFlight[job.slot] = last;
      last.slot = job.slot;
    }
    job.slot = -1;
    return true;
  }

  readonly #done = (job: MemoryJob, settlement: Settlement): void => {
    if (!this.#release(job)) return; // abandoned earlier
    if (settlement.slotFreed) {
      this.#overrunning++;
      settlement.slotFreed.then(() => {
        this.#overrunning--;
        this.fill();
      });
    }
    if (this.#stopped) {
      if (this.#inFlight.length === 0) this.#wake();
      return;
    }
    this.fill();
  };

  stop(): Promise<void> {
    if (!this.#stopped) {
      this.#stopped = true;
      this.#adapter.detach(this);
    }
    if (this.#inFlight.length === 0) {
      this.#stopKeepingAlive();
      return Promise.resolve();
    }
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  async abandon(): Promise<void> {
    this.#stopped = true;
    this.#adapter.detach(this);
    // In the order they were handed out, as before any of them settled.
    const held = this.#inFlight.splice(0).sort((a, b) => a.lease - b.lease);
    for (const job of held) job.slot = -1;
    for (const job of held) this.#adapter.redeliver(job);
    this.#wake();
  }

  #wake(): void {
    this.#stopKeepingAlive();
    for (const resolve of this.#idle.splice(0)) resolve();
  }

  #stopKeepingAlive(): void {
    clearInterval(this.#keepAlive);
    this.#keepAlive = undefined;
  }
}

/** A delivery whose payload is parsed afresh and whose signal exists only if read. */
class MemoryDelivery implements Delivery {
  readonly #job: MemoryJob;
  readonly payload: unknown;
  readonly attempt: number;

  constructor(job: MemoryJob) {
    this.#job = job;
    this.payload = JSON.parse(job.payloadJson);
    this.attempt = job.attempt;
  }
  get id(): string {
    return this.#job.id;
  }
  get name(): string {
    return this.#job.name;
  }
  get queue(): string {
    return this.#job.queue;
  }
  get maxAttempts(): number {
    return this.#job.maxAttempts;
  }
  get headers(): Readonly<Record<string, string>> | undefined {
    return this.#job.headers;
  }
  get timeoutMs(): number | undefined {
    return this.#job.timeoutMs;
  }
  get signal(): AbortSignal {
    this.#job.abort ??= new AbortController();
    return this.#job.abort.signal;
  }
  async progress(value: JsonValue): Promise<void> {
    this.#job.progress = value;
  }
}

/** A finished job past its retention. */
function expired(job: MemoryJob, now: number): boolean {
  const retention = job.retention;
  if (retention === undefined || job.finishedAt === 0) return false;
  return job.finishedAt + (job.status === "succeeded" ? retention.succeededMs : retention.failedMs) < now;
}

function dedupKey(queue: string, key: string): string {
  return `${queue}\u0000${key}`;
}

function toInfo(job: MemoryJob): JobInfo {
  return {
    id: job.id,
    name: job.name,
    queue: job.queue,
    status: job.status,
    payload: JSON.parse(job.payloadJson),
    attempt: job.attempt,
    maxAttempts: job.maxAttempts,
    enqueuedAt: job.enqueuedAt,
    ...(job.resultJson !== undefined ? { result: JSON.parse(job.resultJson) } : {}),
    ...(job.error ? { error: job.error } : {}),
    ...(job.progress !== undefined ? { progress: job.progress } : {}),
    ...(job.runAt > 0 ? { runAt: job.runAt } : {}),
    ...(job.finishedAt > 0 ? { finishedAt: job.finishedAt } : {}),
  };
}

/** Build a memory adapter from `memory://?retainFinished=…&maxPayloadBytes=…`. */
export function createMemoryAdapter(url?: URL): MemoryAdapter {
  const options: { retainFinished?: number; retainDeadLetters?: number; maxPayloadBytes?: number } = {};
  for (const [key, value] of url?.searchParams ?? []) {
    // Nothing here waits on a server; a backend's timeouts are accepted and have nothing to bound.
    if (isTimeoutParam(key)) continue;
    if (key !== "retainFinished" && key !== "retainDeadLetters" && key !== "maxPayloadBytes") {
      throw new ConfigurationError(
        "memory",
        `unknown option "${key}" in memory:// URL. Known: retainFinished, retainDeadLetters, maxPayloadBytes.`,
      );
    }
    const number = Number(value);
    if (!Number.isInteger(number) || number < 0) {
      throw new ConfigurationError("memory", `option ${key} must be a whole number ≥ 0, got "${value}".`);
    }
    options[key] = number;
  }
  return new MemoryAdapter(options);
}
