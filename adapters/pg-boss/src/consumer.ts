import type { ConsumeOptions, Consumer, Delivery, DeliveryHandler, Settlement } from "@taskport/core";
import type { Job } from "pg-boss";
import type { Engine } from "./engine.ts";
import { headersOf, isJobData, type JobData, outputJsonOf, payloadOf } from "./job-data.ts";

/** Fetch loops at most per consumer, as pg-boss's best settings run four (`localConcurrency: 4`). */
const MAX_LOOPS = 4;

/** One job handed to the handler and not yet settled durably. */
interface Held {
  readonly queue: string;
  readonly id: string;
  readonly retryCount: number;
}

interface Completion {
  readonly held: Held;
  readonly outputJson: string;
  readonly done: () => void;
}

/**
 * A fetch loop over `queues`: it claims up to `concurrency` jobs with `fetch` (batches of up to
 * `batchSize`), fetches again at once while batches come back full, and otherwise sleeps until a
 * NOTIFY, a freed slot, the next delayed job's due time, or the polling backstop. Successes are
 * completed in one statement per batch of settlements; failures one by one (they are rare).
 */
export class PgBossConsumer implements Consumer {
  readonly #engine: Engine;
  readonly #queues: readonly string[];
  readonly #concurrency: number;
  readonly #handler: DeliveryHandler;
  readonly #onError: (error: Error) => void;
  readonly #held = new Map<string, Held>();
  readonly #completions: Completion[] = [];
  #flushing = false;
  #flushQueued = false;
  #stopped = false;
  #abandoned = false;
  #backlog = false;
  readonly #sleepers = new Set<{ resolve: () => void; timer: NodeJS.Timeout }>();
  /** Slots promised to fetches in flight. */
  #reserved = 0;
  /** Handler bodies running on past their job's settlement: each still holds its slot. */
  #overrunning = 0;
  readonly #loops = new Set<Promise<void>>();
  #heartbeat: NodeJS.Timeout | undefined;
  #idle: (() => void)[] = [];
  #rotation = 0;

  readonly #onClose: () => void;
  /** The backend's retention in whole seconds, as pg-boss keeps it: set on each job as it finishes. */
  readonly #keepSucceeded: number | undefined;
  readonly #keepFailed: number | undefined;

  constructor(engine: Engine, options: ConsumeOptions, handler: DeliveryHandler, onClose: () => void) {
    this.#engine = engine;
    this.#onClose = onClose;
    this.#queues = [...options.queues];
    this.#concurrency = options.concurrency;
    this.#handler = handler;
    this.#keepSucceeded = options.retention && Math.ceil(options.retention.succeededMs / 1_000);
    this.#keepFailed = options.retention && Math.ceil(options.retention.failedMs / 1_000);
    this.#onError = (error) => {
      try {
        options.onError?.(error);
      } catch {
        // a listener that throws must not stop the worker
      }
    };
  }

  /** A problem outside any one job (pg-boss's background work, the listener): to the worker's error events. */
  reportError(error: Error): void {
    this.#onError(error);
  }

  get queues(): readonly string[] {
    return this.#queues;
  }

  start(): void {
    this.#heartbeat = setInterval(() => void this.#touch(), this.#engine.heartbeatMs);
    this.#spawn(false);
  }

  /** A NOTIFY for one of this consumer's queues, or a local enqueue. */
  notify(): void {
    this.#wakeUp();
  }

  #wakeUp(): void {
    for (const sleeper of this.#sleepers) {
      clearTimeout(sleeper.timer);
      sleeper.resolve();
    }
    this.#sleepers.clear();
  }

  #sleep(ms: number): Promise<void> {
    if (this.#stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const sleeper = {
        resolve,
        timer: setTimeout(
          () => {
            this.#sleepers.delete(sleeper);
            resolve();
          },
          Math.max(0, Math.min(ms, 2 ** 30)),
        ),
      };
      this.#sleepers.add(sleeper);
    });
  }

  #room(): number {
    return this.#concurrency - this.#held.size - this.#reserved - this.#overrunning;
  }

  /**
   * One fetch loop. The first runs for the consumer's life; while batches come back full it starts
   * helpers (up to {@link MAX_LOOPS} in all) so fetches overlap, as pg-boss's `localConcurrency`
   * does; a helper ends at its first short batch, so an idle consumer runs one loop.
   */
  async #run(helper: boolean): Promise<void> {
    const batchSize = this.#engine.batchSize;
    // With a backlog, wait for a worthwhile number of free slots rather than fetching one by one.
    const refill = Math.max(1, Math.min(batchSize, Math.ceil(this.#concurrency / 2)));
    while (!this.#stopped) {
      const room = this.#room();
      if (room <= 0 || (this.#backlog && room < refill)) {
        if (helper) return;
        await this.#sleep(this.#engine.backstopMs);
        continue;
      }
      let full = false;
      try {
        const start = this.#rotation++ % this.#queues.length;
        for (let i = 0; i < this.#queues.length && !this.#stopped; i++) {
          const queue = this.#queues[(start + i) % this.#queues.length] as string;
          const want = Math.min(this.#room(), batchSize);
          if (want <= 0) {
            full = true;
            break;
          }
          this.#reserved += want;
          let jobs: Job<JobData>[];
          try {
            jobs = (await this.#engine.fetch(queue, want)) as Job<JobData>[];
          } finally {
            this.#reserved -= want;
          }
          if (this.#stopped) {
            await this.#engine.release(queue, jobs);
            break;
          }
          for (const job of jobs) this.#deliver(queue, job);
          if (jobs.length === want) full = true;
        }
      } catch (error) {
        this.#onError(error as Error);
        if (helper) return;
        await this.#sleep(500);
        continue;
      }
      this.#backlog = full;
      if (full) {
        if (this.#loops.size < MAX_LOOPS && this.#room() >= refill) this.#spawn(true);
        continue;
      }
      if (helper) return;
      let wait = this.#engine.backstopMs;
      try {
        const due = await this.#engine.nextDueInMs(this.#queues);
        if (due !== undefined) wait = Math.min(wait, Math.max(due, 0) + 2);
      } catch (error) {
        this.#onError(error as Error);
      }
      if (wait > 0) await this.#sleep(wait);
    }
  }

  #spawn(helper: boolean): void {
    const loop: Promise<void> = this.#run(helper).finally(() => this.#loops.delete(loop));
    this.#loops.add(loop);
  }

  #deliver(queue: string, job: Job<JobData>): void {
    const held: Held = { queue, id: job.id, retryCount: job.retryCount };
    this.#held.set(job.id, held);
    const data = job.data;
    const payload = isJobData(data) ? parsed(data) : NOT_READABLE;
    let delivery: Delivery;
    if (!isJobData(data) || payload === NOT_READABLE) {
      // Not written by taskport, or its payload is not JSON: fail it visibly rather than guess what it means.
      delivery = { id: job.id, name: "(not a taskport job)", queue, payload: data, attempt: job.retryCount + 1, maxAttempts: 1 };
    } else {
      const headers = headersOf(data);
      delivery = {
        id: job.id,
        name: data.task,
        queue,
        payload,
        attempt: job.retryCount + 1,
        maxAttempts: data.maxAttempts,
        ...(data.timeoutMs !== undefined ? { timeoutMs: data.timeoutMs } : {}),
        ...(headers !== undefined ? { headers } : {}),
      };
    }
    this.#handler(delivery).then(
      (settlement) => this.#settle(held, settlement),
      (error: unknown) => this.#settle(held, { status: "failed", error: { name: "Error", message: String(error) } }),
    );
  }

  #settle(held: Held, settlement: Settlement): void {
    if (this.#abandoned || this.#held.get(held.id) !== held) return;
    if (settlement.slotFreed) this.#holdSlot(settlement.slotFreed);
    if (settlement.status === "succeeded") {
      this.#completions.push({ held, outputJson: outputJsonOf(settlement.resultJson), done: () => this.#release(held) });
      // Jobs of one fetched batch settle in the same turn: gather them into one statement.
      if (!this.#flushQueued && !this.#flushing) {
        this.#flushQueued = true;
        setImmediate(() => {
          this.#flushQueued = false;
          void this.#flush();
        });
      }
      return;
    }
    void this.#persist(() =>
      this.#engine.failJob(held.queue, held.id, held.retryCount, settlement.error, settlement.retryInMs, this.#keepFailed),
    ).then(() => this.#release(held));
  }

  /** Complete every settled success in one statement per queue; more arrive meanwhile and go next. */
  async #flush(): Promise<void> {
    if (this.#flushing) return;
    this.#flushing = true;
    try {
      while (this.#completions.length > 0 && !this.#abandoned) {
        const batch = this.#completions.splice(0, 500);
        const byQueue = new Map<string, Completion[]>();
        for (const c of batch) {
          const list = byQueue.get(c.held.queue);
          if (list) list.push(c);
          else byQueue.set(c.held.queue, [c]);
        }
        await Promise.all(
          [...byQueue].map(([queue, list]) =>
            this.#persist(() =>
              this.#engine.completeJobs(
                queue,
                list.map((c) => ({ id: c.held.id, retryCount: c.held.retryCount, outputJson: c.outputJson })),
                this.#keepSucceeded,
              ),
            ),
          ),
        );
        for (const c of batch) c.done();
      }
    } finally {
      this.#flushing = false;
    }
  }

  /** Retry a settlement until it is stored: the server may be restarting. Gives up only when abandoned. */
  async #persist(write: () => Promise<unknown>): Promise<void> {
    for (let delay = 100; !this.#abandoned; delay = Math.min(delay * 2, 2_000)) {
      try {
        await write();
        return;
      } catch (error) {
        this.#onError(error as Error);
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  }

  /** A body deaf to its timeout keeps its slot after its job settles: nothing is fetched for it until it ends. */
  #holdSlot(freed: Promise<void>): void {
    this.#overrunning++;
    void freed.then(() => {
      this.#overrunning--;
      this.#wakeUp();
    });
  }

  #release(held: Held): void {
    if (this.#held.get(held.id) !== held) return;
    this.#held.delete(held.id);
    if (this.#stopped) {
      if (this.#held.size === 0) this.#finish();
    } else if (
      !this.#backlog ||
      this.#concurrency - this.#held.size - this.#overrunning >= Math.min(this.#engine.batchSize, Math.ceil(this.#concurrency / 2))
    ) {
      this.#wakeUp();
    }
  }

  /** Keep pg-boss's heartbeat fresh for held jobs, so only a dead worker's jobs are put back. */
  async #touch(): Promise<void> {
    if (this.#held.size === 0) return;
    const byQueue = new Map<string, string[]>();
    for (const held of this.#held.values()) {
      const list = byQueue.get(held.queue);
      if (list) list.push(held.id);
      else byQueue.set(held.queue, [held.id]);
    }
    for (const [queue, ids] of byQueue) {
      try {
        await this.#engine.touch(queue, ids);
      } catch (error) {
        this.#onError(error as Error);
      }
    }
  }

  async stop(): Promise<void> {
    if (!this.#stopped) {
      this.#stopped = true;
      this.#engine.detach(this);
      this.#onClose();
      this.#wakeUp();
    }
    while (this.#loops.size > 0) await Promise.all([...this.#loops]);
    if (this.#held.size === 0) {
      this.#finish();
      return;
    }
    await new Promise<void>((resolve) => this.#idle.push(resolve));
  }

  async abandon(): Promise<void> {
    this.#stopped = true;
    this.#abandoned = true;
    this.#engine.detach(this);
    this.#onClose();
    this.#wakeUp();
    // Nothing is settled: as after a crash, pg-boss's heartbeat check puts these jobs back.
    this.#held.clear();
    this.#completions.length = 0;
    this.#finish();
  }

  #finish(): void {
    clearInterval(this.#heartbeat);
    this.#heartbeat = undefined;
    for (const resolve of this.#idle.splice(0)) resolve();
  }
}

const NOT_READABLE = Symbol("not readable");

function parsed(data: JobData): unknown {
  try {
    return payloadOf(data);
  } catch {
    return NOT_READABLE;
  }
}
