import {
  ConnectionError,
  type ConsumeOptions,
  type Consumer,
  type Delivery,
  type DeliveryHandler,
  type JsonValue,
  type SerializedError,
  type Settlement,
  SharedSlots,
  TaskportError,
} from "@taskport/core";
import type BeeQueue from "bee-queue";
import { attemptsUsed, isJobData, type JobData } from "./job-data.ts";
import { call, nameClient, type RedisClientLike, reloadScriptsOnReconnect, writeOncePerTick } from "./redis-client.ts";
import { CHECK_STALLED, SWEEP, SWEEP_CANCELLED } from "./scripts.ts";

/** What a consumer needs from its adapter. */
export interface ConsumerEnvironment {
  /** A bee-queue worker queue over `client` (connections beyond it are bee-queue's own duplicates). */
  createWorkerQueue(queue: string, client: RedisClientLike): BeeQueue;
  /** Name given to this consumer's connections (CLIENT SETNAME). */
  readonly clientName: string;
  readonly stallIntervalMs: number;
  readonly sweepIntervalMs: number;
  /** How long the stalled-job check may wait for Redis before the worker's connections count as dead. */
  readonly operationMs: number;
  readonly keepSucceeded: boolean;
  readonly toKey: (queue: string, key: string) => string;
}

/** Members of a finished set looked at per SWEEP step, and steps per set and run: the run is bounded. */
const SWEEP_COUNT = 500;
const SWEEP_STEPS = 20;

/** bee-queue's close() needs a timeout; graceful stop waits as long as the worker's grace period, which core enforces. */
const NO_TIMEOUT = 2 ** 31 - 1;

type BeeJob = BeeQueue.Job<unknown> & { options: BeeOptions; progress: unknown; toData(): string };
interface BeeOptions {
  retries?: number;
  backoff?: { strategy: string; delay: number };
  stacktraces?: string[];
}

/** Thrown to bee-queue so that it puts a job back without running it (shutdown while it waited for a slot). */
class HandBack extends Error {}

/**
 * One `consume` call: a bee-queue worker queue per taskport queue, each calling `process()`. With
 * several queues, a shared slot count keeps handler calls at `concurrency` in all; a job bee-queue
 * fetched while every slot was busy waits for one, and at shutdown is handed back to bee-queue as
 * an immediate retry (so the same atomic MULTI that settles jobs puts it back in `waiting`).
 */
export class BeeQueueConsumer implements Consumer {
  readonly #env: ConsumerEnvironment;
  readonly #options: ConsumeOptions;
  readonly #handler: DeliveryHandler;
  readonly #queues = new Map<string, BeeQueue>();
  #client: RedisClientLike | undefined;
  #abandoned = false;
  #stopping: Promise<void> | undefined;
  #stallTimer: NodeJS.Timeout | undefined;
  #sweepTimer: NodeJS.Timeout | undefined;
  /** Handler slots shared by the queues; none with a single queue, whose own concurrency is the limit. */
  readonly #slots: SharedSlots | undefined;
  readonly #abandonWaiters = new Set<(error: Error) => void>();
  /** Jobs settled while their handler's body runs on past the timeout: resolved when it ends. */
  readonly #overrunning = new WeakMap<BeeQueue.Job<unknown>, Promise<void>>();
  readonly #onClose: () => void;

  constructor(env: ConsumerEnvironment, options: ConsumeOptions, handler: DeliveryHandler, onClose: () => void) {
    this.#env = env;
    this.#options = options;
    this.#handler = handler;
    this.#slots = options.queues.length > 1 ? new SharedSlots(options.concurrency) : undefined;
    this.#onClose = onClose;
  }

  #report = (error: Error): void => {
    if (this.#abandoned) return;
    try {
      this.#options.onError?.(error);
    } catch {
      // a listener that throws must not stop the worker
    }
  };

  /** Open the connections and start every queue's `process()` loop. */
  async start(client: RedisClientLike): Promise<void> {
    this.#client = client;
    writeOncePerTick(client);
    client.on("error", this.#report);
    this.#watch(client);
    reloadScriptsOnReconnect(client, this.#report);
    // bee-queue opens its blocking and pub/sub connections with client.duplicate(). Name them as
    // they open: a subscribed connection can no longer take CLIENT SETNAME.
    const duplicate = client.duplicate.bind(client);
    (client as { duplicate: () => RedisClientLike }).duplicate = () => {
      const copy = duplicate();
      nameClient(copy, this.#env.clientName);
      writeOncePerTick(copy);
      this.#watch(copy);
      return copy;
    };
    for (const name of this.#options.queues) {
      const queue = this.#env.createWorkerQueue(name, client);
      queue.on("error", this.#report);
      this.#holdSlots(queue);
      this.#queues.set(name, queue);
    }
    await Promise.all([...this.#queues.values()].map((queue) => queue.ready()));
    for (const queue of this.#queues.values()) {
      queue.process(this.#options.concurrency, (job: BeeQueue.Job<unknown>) => this.#run(job as BeeJob));
    }
    this.#checkStalled();
    this.#sweepTimer = setInterval(() => void this.#sweep(), this.#env.sweepIntervalMs);
    this.#sweepTimer.unref();
  }

  /**
   * Delete finished jobs past their retention. Per queue, the first worker to ask in an interval
   * (the sweepBlock key) does it, in bounded SWEEP steps that go on from the cursor kept in Redis.
   */
  async #sweep(): Promise<void> {
    const client = this.#client;
    if (!client || this.#abandoned || this.#stopping) return;
    const key = (queue: string, name: string) => this.#env.toKey(queue, name);
    for (const queue of this.#queues.keys()) {
      try {
        const blocked = await call<string | null>((done) =>
          client.set(key(queue, "sweepBlock"), "1", "PX", String(this.#env.sweepIntervalMs), "NX", done),
        );
        if (blocked === null) continue;
        for (const set of ["succeeded", "failed"]) {
          for (let step = 0; step < SWEEP_STEPS && !this.#abandoned && !this.#stopping; step++) {
            const [, wrapped] = await call<[number, number]>((done) =>
              client.eval(SWEEP, 3, key(queue, "jobs"), key(queue, set), key(queue, `sweepCursor:${set}`), Date.now(), SWEEP_COUNT, done),
            );
            if (wrapped === 1) break;
          }
        }
        for (let step = 0; step < SWEEP_STEPS && !this.#abandoned && !this.#stopping; step++) {
          const deleted = await call<number>((done) =>
            client.eval(
              SWEEP_CANCELLED,
              3,
              key(queue, "jobs"),
              key(queue, "cancelled"),
              key(queue, "cancelledExpiry"),
              Date.now(),
              SWEEP_COUNT,
              done,
            ),
          );
          if (deleted < SWEEP_COUNT) break;
        }
      } catch (error) {
        this.#report(error as Error);
      }
    }
  }

  /**
   * bee-queue only looks for stalled jobs (a dead worker's) when asked. Its own check moves them
   * back uncounted; this one (CHECK_STALLED) counts each stall in the job's record, so a crash is an
   * attempt. Its stallBlock key makes every worker's checks together run once per interval.
   */
  #checkStalled(): void {
    if (this.#abandoned || this.#stopping) return;
    const client = this.#client as RedisClientLike;
    const interval = this.#env.stallIntervalMs;
    const key = (queue: string, name: string) => this.#env.toKey(queue, name);
    const checks = [...this.#queues.keys()].map((queue) =>
      call<number>((done) =>
        client.eval(
          CHECK_STALLED,
          5,
          key(queue, "stallBlock"),
          key(queue, "stalling"),
          key(queue, "waiting"),
          key(queue, "active"),
          key(queue, "jobs"),
          interval,
          done,
        ),
      ).catch(this.#report),
    );
    // The check doubles as the worker's heartbeat: node-redis has no socket timeout, and the blocking
    // connection waits without one, so a connection that went silent (a partition that outlived its
    // TCP state) would hold the worker forever. Unanswered within operationMs: every connection of
    // this worker is replaced (node-redis reconnects them, and bee-queue waits for jobs again).
    const silent = setTimeout(() => this.#replaceConnections(), this.#env.operationMs);
    void Promise.all(checks).then(() => {
      clearTimeout(silent);
      if (this.#abandoned || this.#stopping) return;
      this.#stallTimer = setTimeout(() => this.#checkStalled(), interval);
    });
  }

  #replaceConnections(): void {
    if (this.#abandoned || this.#stopping) return;
    this.#report(
      new ConnectionError(
        "bee-queue",
        `Redis did not answer a worker's stalled-job check within ${this.#env.operationMs} ms; replacing the worker's connections.`,
      ),
    );
    const silent = new Error("Redis did not answer in time");
    const clients = [
      this.#client,
      ...[...this.#queues.values()].flatMap((queue) => {
        const internal = queue as unknown as { bclient?: RedisClientLike; eclient?: RedisClientLike };
        return [internal.bclient, internal.eclient];
      }),
    ];
    for (const client of clients) (client as unknown as { stream?: { destroy(error?: Error): void } } | undefined)?.stream?.destroy(silent);
  }

  /**
   * node-redis reconnects by itself and fails only the commands that were in flight, which may be
   * none: report every lost connection, so a worker's owner sees it.
   */
  #watch(client: RedisClientLike): void {
    client.on("reconnecting", (info: { attempt?: number; error?: Error }) => {
      const cause = info?.error?.message ? ` (${info.error.message})` : "";
      this.#report(
        new ConnectionError(
          "bee-queue",
          `a worker connection to Redis was lost${cause}; reconnecting (attempt ${info?.attempt ?? 1}). Jobs it held are delivered again by the stalled-job check.`,
        ),
      );
    });
  }

  async #run(job: BeeJob): Promise<unknown> {
    if (this.#slots && !(await this.#slots.acquire())) {
      job.options.retries = Math.max(1, job.options.retries ?? 0);
      job.options.backoff = { strategy: "fixed", delay: 0 };
      throw new HandBack("handed back: the worker shut down before this job could start");
    }
    try {
      return await this.#runAcquired(job);
    } finally {
      const freed = this.#overrunning.get(job);
      if (freed) void freed.then(() => this.#slots?.release());
      else this.#slots?.release();
    }
  }

  /**
   * A body deaf to its timeout keeps its slot after its job settles. bee-queue fetches the next job
   * for a slot once the settling write (its `_finishJob`) has resolved: for such a job, that
   * resolves only when the body ends, so no job is fetched into the slot before.
   */
  #holdSlots(queue: BeeQueue): void {
    type Finish = (error: unknown, data: unknown, job: BeeQueue.Job<unknown>) => Promise<unknown>;
    const internal = queue as unknown as { _finishJob: Finish };
    const finish = internal._finishJob.bind(queue);
    internal._finishJob = (error, data, job) => {
      const written = finish(error, data, job);
      const freed = this.#overrunning.get(job);
      return freed ? written.then((outcome) => freed.then(() => outcome)) : written;
    };
  }

  async #runAcquired(job: BeeJob): Promise<unknown> {
    if (this.#abandoned) throw new HandBack("abandoned");
    const queue = (job.queue as unknown as { name: string }).name;
    const raw = job.data;
    // Not written by taskport: the worker fails it visibly rather than guess what it means, and
    // the record keeps what its producer wrote.
    const own = isJobData(raw);
    const data: JobData = own ? raw : { tp: 1, task: "(not a taskport job)", payload: raw, maxAttempts: 1, enqueuedAt: 0 };
    const attempt = attemptsUsed(data) + 1;
    const delivery: Delivery = {
      id: job.id,
      name: data.task,
      queue,
      payload: data.payload,
      attempt,
      maxAttempts: data.maxAttempts,
      ...(data.timeoutMs !== undefined ? { timeoutMs: data.timeoutMs } : {}),
      ...(data.headers !== undefined ? { headers: data.headers } : {}),
      progress: (value: JsonValue) => this.#progress(job, queue, value),
    };
    let onAbandon: ((error: Error) => void) | undefined;
    const settlement = await new Promise<Settlement>((resolve, reject) => {
      // A crash does not settle: after abandon() bee-queue must not record anything.
      onAbandon = reject;
      this.#abandonWaiters.add(reject);
      this.#handler(delivery).then(resolve, (error: unknown) =>
        resolve({ status: "failed", error: { name: "Error", message: String(error) } }),
      );
    }).finally(() => this.#abandonWaiters.delete(onAbandon as (error: Error) => void));
    if (settlement.slotFreed) this.#overrunning.set(job, settlement.slotFreed);
    if (!own) {
      job.options.retries = 0;
      throw toThrown(settlement.status === "failed" ? settlement.error : { name: "Error", message: "not a taskport job" });
    }
    data.attempts = (data.attempts ?? 0) + 1;
    const retention = this.#options.retention;
    if (settlement.status === "succeeded") {
      if (this.#env.keepSucceeded) {
        data.result = settlement.result;
        data.finishedAt = Date.now();
        if (retention) data.expiresAt = data.finishedAt + retention.succeededMs;
      }
      return null;
    }
    data.error = settlement.error;
    if (settlement.retryInMs !== undefined) {
      // bee-queue's own retry path, with the exact delay core computed: its "fixed" strategy
      // waits options.backoff.delay, and delays run through its delayed set.
      job.options.retries = 1;
      job.options.backoff = { strategy: "fixed", delay: Math.ceil(settlement.retryInMs) };
    } else {
      job.options.retries = 0;
      data.finishedAt = Date.now();
      if (retention) data.expiresAt = data.finishedAt + retention.failedMs;
    }
    throw toThrown(settlement.error);
  }

  async #progress(job: BeeJob, queue: string, value: JsonValue): Promise<void> {
    job.progress = value;
    const client = this.#client as RedisClientLike;
    // reportProgress only publishes (for bee-queue's event listeners); the record is what refresh() reads.
    await Promise.all([job.reportProgress(value), call((done) => client.hset(this.#env.toKey(queue, "jobs"), job.id, job.toData(), done))]);
  }

  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    clearTimeout(this.#stallTimer);
    clearInterval(this.#sweepTimer);
    this.#slots?.close();
    // close() stops fetching at once (it drops the blocking connection) and waits for the jobs
    // it handed out, including the writes that settle them.
    await Promise.all([...this.#queues.values()].map((queue) => queue.close(NO_TIMEOUT).catch(this.#report)));
    await this.#release();
  }

  async abandon(): Promise<void> {
    if (this.#abandoned) return;
    this.#abandoned = true;
    clearTimeout(this.#stallTimer);
    clearInterval(this.#sweepTimer);
    this.#slots?.close();
    const dead = new TaskportError("bee-queue", "consumer abandoned");
    for (const queue of this.#queues.values()) {
      queue.close(1).catch(() => {});
      const internal = queue as unknown as { bclient?: RedisClientLike; eclient?: RedisClientLike };
      internal.bclient?.end(true);
      internal.eclient?.end(true);
    }
    // Dropped like a crashed process's: the jobs stay in bee-queue's active list unsettled, and
    // its stalled-job check puts them back once no heartbeat refreshes them.
    this.#client?.end(true);
    for (const reject of this.#abandonWaiters) reject(dead);
    this.#abandonWaiters.clear();
    this.#onClose();
  }

  async #release(): Promise<void> {
    const client = this.#client;
    this.#client = undefined;
    this.#onClose();
    if (client) await call<unknown>((done) => client.quit(done)).catch(() => client.end(true));
  }
}

function toThrown(error: SerializedError): Error {
  const thrown = new Error(error.message);
  thrown.name = error.name;
  thrown.stack = error.stack ?? `${error.name}: ${error.message}`;
  return thrown;
}
