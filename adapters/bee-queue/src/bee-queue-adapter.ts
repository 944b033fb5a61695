import {
  type Adapter,
  type Capabilities,
  type CheckProblem,
  ConfigurationError,
  type ConsumeOptions,
  type Consumer,
  closeWithin,
  connectTimedOut,
  DEFAULT_RETENTION,
  type DeliveryHandler,
  deadline,
  type EnqueueContext,
  type EnqueueReceipt,
  indexesByQueue,
  type JobInfo,
  type JobStatus,
  type NewJob,
  type Retention,
  resolveTimeouts,
  TaskportError,
  type Timeouts,
} from "@taskport/core";
import Queue from "bee-queue";
import { type AddJobKeys, addJobs, type JobToAdd, recordJson } from "./add-jobs.ts";
import { BeeQueueConsumer, type ConsumerEnvironment } from "./consumer.ts";
import { attemptsUsed, dedupJobId, isJobData } from "./job-data.ts";
import {
  call,
  explainRedisError,
  isTransient,
  type OpenDeadline,
  openClient,
  type RedisClientLike,
  type RedisOptions,
  reloadScriptsOnReconnect,
  writeOncePerTick,
} from "./redis-client.ts";
import { CANCEL, DISCARD, STATUS } from "./scripts.ts";
import { parseUrlOptions, validatePrefix } from "./url-options.ts";

export interface BeeQueueAdapterOptions {
  /**
   * node-redis 3 client options, as bee-queue takes them (`host`, `port`, `db`, `password`,
   * `user`, `tls`, `retry_strategy`, …). Default: 127.0.0.1:6379, db 0.
   */
  readonly redis?: RedisOptions;
  /** Key prefix: keys are `<prefix>:<queue>:…`. Default `bq`, bee-queue's own, so plain bee-queue code sees the same queues. */
  readonly prefix?: string;
  /**
   * A running job whose worker stops refreshing it for this long (a crashed process) is delivered
   * again. Workers refresh every half interval. Default 5000 (bee-queue's).
   */
  readonly stallIntervalMs?: number;
  /**
   * How often workers delete finished jobs past the backend's `retention` (the first worker of a
   * queue to ask in an interval does it, at most 10,000 records looked at per finished set and run).
   * Past their retention, jobs read as gone at once. Default 60000.
   */
  readonly sweepIntervalMs?: number;
  /**
   * Keep succeeded jobs and their results in Redis, so `handle.wait()` and `refresh()` can read
   * them. Default true. Set false when nobody reads results: bee-queue then deletes a job as it
   * succeeds (one HDEL instead of rewriting the record and adding it to the `succeeded` set, and
   * Redis does not grow with every job ever run); `capabilities.results` becomes false.
   */
  readonly keepSucceeded?: boolean;
  /**
   * Delayed jobs due within this many ms of the first are raised together. Default 10; bee-queue's
   * own default of 1000 would start a delayed job up to a second late.
   */
  readonly delayedDebounceMs?: number;
  /** CLIENT SETNAME of the connections: `<name>` for enqueues, `<name>-worker` for workers. Default `taskport`. */
  readonly clientName?: string;
  /**
   * Bounds on calls to Redis: `{ connectMs, operationMs, closeMs }`, default 10 s, 30 s, 10 s.
   * Connecting (node-redis `connect_timeout`, and its ready check) past connectMs is a
   * `ConnectionError`; an enqueue, `check()` or worker start past operationMs a `DeadlineError`,
   * and the connection it waited on is dropped (node-redis reconnects). A worker's wait for jobs is
   * not bounded.
   */
  readonly timeouts?: Partial<Timeouts>;
}
/**
 * Enqueues of one tick are written to Redis this many at a time. Smaller groups keep Redis and
 * this process busy at once (Redis runs the first group while the next is built); one write per
 * tick left each side idle while the other worked (about 0.6x the throughput at 50 in flight).
 */
const ENQUEUES_PER_WRITE = 16;

/**
 * taskport over bee-queue 2: jobs live in Redis under bee-queue's own keys, in its own format, so
 * plain bee-queue producers and workers can share queues with taskport. Nothing connects until
 * the first call that needs Redis.
 */
export class BeeQueueAdapter implements Adapter {
  readonly name = "bee-queue";
  readonly capabilities: Capabilities;
  readonly #redis: RedisOptions;
  readonly #prefix: string;
  readonly #stallIntervalMs: number;
  readonly #sweepIntervalMs: number;
  /** The backend's retention as its enqueues pass it; a cancel (which is given none) keeps a job for its `failedMs`. */
  #retention: Retention = DEFAULT_RETENTION;
  readonly #keepSucceeded: boolean;
  readonly #delayedDebounceMs: number;
  readonly #clientName: string;
  readonly #where: string;
  readonly #secrets: string[];
  #client: Promise<RedisClientLike> | undefined;
  /** The enqueue connection once it is open: single enqueues use it without an await. */
  #connected: RedisClientLike | undefined;
  readonly #producers = new Map<string, Queue>();
  readonly #ready = new Map<string, Queue>();
  readonly #addKeys = new Map<string, AddJobKeys>();
  readonly #consumers = new Set<BeeQueueConsumer>();
  #closed = false;
  readonly #timeouts: Timeouts;

  constructor(options: BeeQueueAdapterOptions = {}) {
    this.#redis = { host: "127.0.0.1", port: 6379, ...options.redis };
    this.#timeouts = resolveTimeouts(options.timeouts, "bee-queue");
    this.#prefix = validatePrefix(options.prefix ?? "bq");
    this.#stallIntervalMs = positive("stallIntervalMs", options.stallIntervalMs ?? 5_000);
    this.#sweepIntervalMs = positive("sweepIntervalMs", options.sweepIntervalMs ?? 60_000);
    this.#keepSucceeded = options.keepSucceeded ?? true;
    this.#delayedDebounceMs = positive("delayedDebounceMs", options.delayedDebounceMs ?? 10);
    this.#clientName = options.clientName ?? "taskport";
    if (!/^[!-~]+$/.test(this.#clientName)) {
      throw new ConfigurationError("bee-queue", `clientName "${this.#clientName}" may not contain spaces or non-ASCII characters.`);
    }
    const r = this.#redis as { host?: string; port?: number; db?: number; path?: string; password?: string; auth_pass?: string };
    this.#where = r.path ?? `${r.host}:${r.port}/${r.db ?? 0}`;
    this.#secrets = [r.password, r.auth_pass].filter((s): s is string => typeof s === "string" && s !== "");
    this.capabilities = Object.freeze({
      delay: true,
      // bee-queue has one FIFO list per queue: no priorities.
      priority: false,
      results: this.#keepSucceeded,
      cancel: true,
      deduplication: "while-stored", // bee-queue keeps failed jobs, and succeeded ones when results are kept
      nativeBulkEnqueue: true,
      // Redis is not the application's database: there is no transaction to join.
      transactions: false,
      // Retries, stalled jobs and delayed jobs re-enter at either end of the list.
      ordering: "none",
      progress: true,
      // Failed jobs stay in bee-queue's `failed` set (removeOnFailure: false); `job.retry()` replays one.
      deadLetter: true,
      // A Lua script deletes failed records and their `failed` membership (DISCARD).
      discardDeadLetters: true,
      // The consumer's own stalled-job check (CHECK_STALLED) counts each stall in the job's record.
      crashCountsAsAttempt: true,
      // bee-queue keeps finished jobs until removed: each gets an expiry from the backend's retention
      // as it finishes, reads as gone past it, and workers' sweep (SWEEP) deletes it.
      retention: true,
      // `headers` in the job's data, written at enqueue.
      headers: true,
    });
  }

  /** `<prefix>:<queue>:<key>`, bee-queue's key layout. */
  toKey(queue: string, key: string): string {
    return `${this.#prefix}:${queue}:${key}`;
  }

  get prefix(): string {
    return this.#prefix;
  }

  #connect(): Promise<RedisClientLike> {
    if (this.#closed) return Promise.reject(new TaskportError("bee-queue", "this adapter was closed; create a new one."));
    this.#client ??= openClient(this.#redis, this.#clientName, this.#openDeadline()).then(
      (client) => {
        // Errors of an established connection reach callers as rejected commands; node-redis reconnects.
        client.on("error", () => {});
        // Every producer queue (one per queue name) listens for the shared client's errors.
        (client as unknown as { setMaxListeners(n: number): void }).setMaxListeners(0);
        reloadScriptsOnReconnect(client, () => {});
        writeOncePerTick(client, ENQUEUES_PER_WRITE);
        this.#connected = client;
        return client;
      },
      (error: unknown) => {
        this.#client = undefined;
        throw explainRedisError(error, this.#where, this.#secrets);
      },
    );
    return this.#client;
  }

  #openDeadline(): OpenDeadline {
    const ms = this.#timeouts.connectMs;
    return { ms, late: () => connectTimedOut("bee-queue", "connect", this.#where, ms) };
  }

  /**
   * `work` bounded by operationMs: past it a DeadlineError naming the call, and the enqueue
   * connection, which a silent server holds, is dropped (node-redis reconnects it).
   */
  #bounded<T>(operation: string, work: Promise<T>): Promise<T> {
    return deadline("bee-queue", operation, this.#where, this.#timeouts.operationMs, work, () => {
      (this.#connected as unknown as { stream?: { destroy(): void } } | undefined)?.stream?.destroy();
    });
  }

  #producer(name: string): Queue | Promise<Queue> {
    // The common case, without a single await: a queue this adapter already opened.
    const ready = this.#ready.get(name);
    if (ready) return ready;
    return this.#openProducer(name);
  }

  async #openProducer(name: string): Promise<Queue> {
    const client = await this.#connect();
    let queue = this.#producers.get(name);
    if (!queue) {
      // Only what enqueueing needs: no blocking or pub/sub connection, no events, and no copy of
      // every job kept in this process (bee-queue's defaults).
      queue = new Queue(name, {
        prefix: this.#prefix,
        redis: client as never,
        isWorker: false,
        getEvents: false,
        sendEvents: false,
        storeJobs: false,
        activateDelayedJobs: false,
      });
      queue.on("error", () => {});
      this.#producers.set(name, queue);
    }
    try {
      await queue.ready();
    } catch (error) {
      this.#producers.delete(name);
      throw this.#wrap(error);
    }
    this.#ready.set(name, queue);
    return queue;
  }

  enqueue(jobs: readonly NewJob[], context: EnqueueContext): Promise<EnqueueReceipt[]> {
    if (context.retention) this.#retention = context.retention;
    const first = jobs[0];
    if (jobs.length === 1 && first)
      return this.#bounded(
        "enqueue",
        this.#enqueueOne(first).then((receipt) => [receipt]),
      );
    return this.#bounded("enqueueMany", this.#enqueueMany(jobs));
  }

  async #enqueueMany(jobs: readonly NewJob[]): Promise<EnqueueReceipt[]> {
    const receipts: EnqueueReceipt[] = new Array(jobs.length);
    await Promise.all(
      [...indexesByQueue(jobs)].map(async ([name, indexes]) => {
        const stored = await this.#store(
          name,
          indexes.map((i) => jobs[i] as NewJob),
        );
        indexes.forEach((index, k) => {
          receipts[index] = stored[k] as EnqueueReceipt;
        });
      }),
    );
    return receipts;
  }

  /**
   * One job, written at once when its queue is open. Enqueues made in the same turn of the event
   * loop (many callers, each awaiting its own) still reach Redis in shared socket writes
   * ({@link writeOncePerTick}), as `saveAll` sends a batch; each caller resumes on its own reply.
   */
  #enqueueOne(job: NewJob): Promise<EnqueueReceipt> {
    const client = this.#connected;
    if (!client || !this.#ready.has(job.queue)) {
      // First use of the queue: connect and load the scripts once.
      return this.#store(job.queue, [job], false).then((receipts) => receipts[0] as EnqueueReceipt);
    }
    const [reply] = addJobs(client, this.#keys(job.queue), [toAdd(job, Date.now())]);
    return (reply as Promise<string | null>).then(
      (id) => receipt(job, id, true),
      // A dropped connection or a reloaded server: the retrying path stores it (its id makes that safe).
      () => this.#store(job.queue, [job], false, true).then((receipts) => receipts[0] as EnqueueReceipt),
    );
  }

  /** bee-queue's keys for storing a job of `queue`. */
  #keys(queue: string): AddJobKeys {
    let keys = this.#addKeys.get(queue);
    if (!keys) {
      keys = {
        id: this.toKey(queue, "id"),
        jobs: this.toKey(queue, "jobs"),
        waiting: this.toKey(queue, "waiting"),
        delayed: this.toKey(queue, "delayed"),
        earlierDelayed: this.toKey(queue, "earlierDelayed"),
      };
      this.#addKeys.set(queue, keys);
    }
    return keys;
  }

  /**
   * Save one queue's jobs (one socket write for a batch) with bee-queue's own scripts. Ids are set
   * before saving, so a save retried after a dropped connection cannot store a job twice: bee-queue
   * refuses an id it already holds.
   */
  async #store(name: string, jobs: readonly NewJob[], batch = true, retried = false): Promise<EnqueueReceipt[]> {
    const now = Date.now();
    const adds = jobs.map((job) => toAdd(job, now));
    for (let attempt = 1; ; attempt++) {
      try {
        // A ready producer queue means connected, with bee-queue's scripts loaded.
        await this.#producer(name);
        const client = await this.#connect();
        const ids = await Promise.all(addJobs(client, this.#keys(name), adds));
        return jobs.map((job, i) => receipt(job, ids[i] as string | null, attempt === 1 && !retried));
      } catch (error) {
        if (!isTransient(error) || attempt >= 5) {
          throw this.#wrap(
            error,
            batch && jobs.length > 1 ? ` Some of the ${jobs.length} jobs may be stored; enqueue them again: their ids make that safe.` : "",
          );
        }
        await new Promise((resolve) => setTimeout(resolve, 100 * attempt));
      }
    }
  }

  #wrap(error: unknown, extra = ""): TaskportError {
    if (error instanceof TaskportError) return error;
    const wrapped = explainRedisError(error, this.#where, this.#secrets);
    return extra
      ? new TaskportError("bee-queue", `${wrapped.message.replace(/^\[taskport\] \[bee-queue\] /, "")}${extra}`, { cause: wrapped.cause })
      : wrapped;
  }

  async consume(options: ConsumeOptions, handler: DeliveryHandler): Promise<Consumer> {
    if (this.#closed) throw new TaskportError("bee-queue", "this adapter was closed; create a new one.");
    const environment: ConsumerEnvironment = {
      createWorkerQueue: (name, client) =>
        new Queue(name, {
          prefix: this.#prefix,
          redis: client as never,
          isWorker: true,
          getEvents: false,
          sendEvents: false,
          storeJobs: false,
          // Needed for delays and retry backoff: a worker raises due jobs from the delayed set.
          activateDelayedJobs: true,
          delayedDebounce: this.#delayedDebounceMs,
          stallInterval: this.#stallIntervalMs,
          removeOnSuccess: !this.#keepSucceeded,
          removeOnFailure: false,
        }),
      clientName: `${this.#clientName}-worker`,
      stallIntervalMs: this.#stallIntervalMs,
      sweepIntervalMs: this.#sweepIntervalMs,
      operationMs: this.#timeouts.operationMs,
      keepSucceeded: this.#keepSucceeded,
      toKey: (queue, key) => this.toKey(queue, key),
    };
    const consumer = new BeeQueueConsumer(environment, options, handler, () => this.#consumers.delete(consumer));
    // Each consumer has its own connections, so abandoning it drops exactly those, as a crash would.
    const client = await openClient(this.#redis, environment.clientName, this.#openDeadline()).catch((error: unknown) => {
      throw this.#wrap(error);
    });
    this.#consumers.add(consumer);
    try {
      await deadline("bee-queue", "start a worker", this.#where, this.#timeouts.operationMs, consumer.start(client), () =>
        client.end(true),
      );
    } catch (error) {
      await consumer.abandon();
      throw this.#wrap(error);
    }
    return consumer;
  }

  async getJob(id: string, queue: string): Promise<JobInfo | null> {
    const client = await this.#connect();
    const reply = await call<[string, string] | null>((done) =>
      client.eval(
        STATUS,
        5,
        this.toKey(queue, "jobs"),
        this.toKey(queue, "active"),
        this.toKey(queue, "delayed"),
        this.toKey(queue, "cancelled"),
        this.toKey(queue, "cancelledExpiry"),
        id,
        Date.now(),
        done,
      ),
    ).catch((error: unknown) => {
      throw this.#wrap(error);
    });
    if (!reply) return null;
    return toInfo(id, queue, reply[0], reply[1]);
  }

  /**
   * Jobs of `queue` that failed for good, newest first: bee-queue's `failed` set, where
   * `job.retry()` (plain bee-queue) replays one. The set is unordered, so this reads every failed
   * record of the queue to sort them: an operator's tool, not a hot path.
   */
  async listDeadLetters(queue: string, limit = 100): Promise<JobInfo[]> {
    const client = await this.#connect();
    const ids = await call<string[]>((done) => client.smembers(this.toKey(queue, "failed"), done)).catch((error: unknown) => {
      throw this.#wrap(error);
    });
    const infos: JobInfo[] = [];
    for (let i = 0; i < ids.length; i += 1_000) {
      const chunk = ids.slice(i, i + 1_000);
      const records = await call<(string | null)[]>((done) => client.hmget(this.toKey(queue, "jobs"), ...chunk, done));
      records.forEach((text, k) => {
        const info = text ? toInfo(chunk[k] as string, queue, text, "stored") : null;
        if (info?.status === "failed") infos.push(info);
      });
    }
    return infos.sort((a, b) => (b.finishedAt ?? 0) - (a.finishedAt ?? 0)).slice(0, limit);
  }

  /** Remove failed jobs for good: their records go, so they never run and `getJob` reads `null`. */
  async discardDeadLetters(queue: string, ids?: readonly string[]): Promise<number> {
    if (ids?.length === 0) return 0;
    const client = await this.#connect();
    const targets = ids ? [...new Set(ids)] : [];
    return call<number>((done) =>
      client.eval(DISCARD, 2, this.toKey(queue, "jobs"), this.toKey(queue, "failed"), Date.now(), ...targets, done),
    ).catch((error: unknown) => {
      throw this.#wrap(error);
    });
  }

  async cancel(id: string, queue: string): Promise<boolean> {
    const client = await this.#connect();
    const cancelled = await call<number>((done) =>
      client.eval(
        CANCEL,
        5,
        this.toKey(queue, "jobs"),
        this.toKey(queue, "waiting"),
        this.toKey(queue, "delayed"),
        this.toKey(queue, "cancelled"),
        this.toKey(queue, "cancelledExpiry"),
        id,
        // A cancelled job is kept as a failed one is (the retention of the last enqueue through this adapter).
        Date.now() + this.#retention.failedMs,
        done,
      ),
    ).catch((error: unknown) => {
      throw this.#wrap(error);
    });
    return cancelled === 1;
  }

  /**
   * Delete everything stored for `queue`: bee-queue's keys (as `Queue#destroy` does) and taskport's
   * `cancelled` set. For tests and operators; workers on the queue should be stopped first.
   */
  async destroyQueue(queue: string): Promise<void> {
    const client = await this.#connect();
    const keys = [
      "id",
      "jobs",
      "stallBlock",
      "stalling",
      "waiting",
      "active",
      "succeeded",
      "failed",
      "delayed",
      "cancelled",
      "cancelledExpiry",
    ].map((k) => this.toKey(queue, k));
    await call((done) => client.del(...keys, done));
  }

  async check(): Promise<CheckProblem[]> {
    try {
      const client = await this.#connect();
      await this.#bounded(
        "check()",
        call<string>((done) => client.ping(done)),
      );
      return [];
    } catch (error) {
      return [{ message: this.#wrap(error).message }];
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const opening = this.#client;
    const connected = this.#connected;
    // A server that never answers would hold QUIT forever: past closeMs the connections are ended.
    await closeWithin(
      this.#timeouts.closeMs,
      async () => {
        await Promise.all([...this.#consumers].map((consumer) => consumer.abandon()));
        const client = await opening?.catch(() => undefined);
        this.#client = undefined;
        // Enqueues written before the QUIT below still reach Redis; later ones find the adapter closed.
        this.#connected = undefined;
        for (const queue of this.#producers.values()) await queue.close().catch(() => {});
        this.#producers.clear();
        this.#ready.clear();
        if (client) await call<unknown>((done) => client.quit(done)).catch(() => client.end(true));
      },
      () => connected?.end(true),
    );
    this.#client = undefined;
    this.#connected = undefined;
    this.#producers.clear();
    this.#ready.clear();
  }
}

/** The bee-queue id and record of a new job: `dedup:<key>` with a deduplication key. */
function toAdd(job: NewJob, now: number): JobToAdd {
  const id = job.deduplicationKey === undefined ? job.id : dedupJobId(job.deduplicationKey);
  const delay = job.runAt !== undefined && job.runAt > now ? job.runAt : undefined;
  const record = recordJson(job, now, delay);
  return delay === undefined ? { id, record } : { id, record, delay };
}

/**
 * The receipt for a stored job. bee-queue's scripts answer null when the id was taken: a
 * deduplicated job, or, on a retry, our own earlier attempt that Redis stored before the
 * connection dropped.
 */
function receipt(job: NewJob, reply: string | null, firstAttempt: boolean): EnqueueReceipt {
  const id = job.deduplicationKey === undefined ? job.id : dedupJobId(job.deduplicationKey);
  return reply === null && job.deduplicationKey !== undefined && firstAttempt ? { id, deduplicated: true } : { id };
}

/** A job record (bee-queue's JSON) and where the STATUS script found it, as taskport's JobInfo; null when not taskport's. */
function toInfo(id: string, queue: string, text: string, state: string): JobInfo | null {
  const record = JSON.parse(text) as { data: unknown; status: string; progress?: unknown };
  const data = record.data;
  if (!isJobData(data)) return null;
  // Finished and past its retention: gone, though a worker's sweep may not have deleted it yet.
  if (
    (record.status === "succeeded" || record.status === "failed") &&
    state === "stored" &&
    data.expiresAt !== undefined &&
    data.expiresAt <= Date.now()
  )
    return null;
  let status: JobStatus;
  let runAt: number | undefined;
  if (state === "cancelled") status = "cancelled";
  else if (state.startsWith("delayed:")) {
    status = "scheduled";
    runAt = Number(state.slice("delayed:".length));
  } else if (state === "active") status = "running";
  else if (record.status === "succeeded") status = "succeeded";
  else if (record.status === "failed") status = "failed";
  else status = "queued";
  const used = attemptsUsed(data);
  return {
    id,
    name: data.task,
    queue,
    status,
    payload: data.payload,
    // A job failed as WorkerLostError has the refused delivery among its settled attempts too: it
    // started its attempts and the one extra start, no more.
    attempt: status === "running" ? used + 1 : Math.min(used, data.maxAttempts + 1),
    maxAttempts: data.maxAttempts,
    enqueuedAt: data.enqueuedAt,
    ...(status === "succeeded" ? { result: data.result ?? null } : {}),
    ...(data.error && status !== "succeeded" ? { error: data.error } : {}),
    // bee-queue starts every job at progress 0; only a reported value is taskport's.
    ...(record.progress !== undefined && record.progress !== 0 ? { progress: record.progress } : {}),
    ...(runAt !== undefined ? { runAt } : {}),
    ...(data.finishedAt !== undefined && (status === "succeeded" || status === "failed") ? { finishedAt: data.finishedAt } : {}),
  };
}

function positive(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) {
    throw new ConfigurationError("bee-queue", `option ${name} must be a whole number of ms ≥ 1, got ${value}.`);
  }
  return value;
}

/** Build an adapter from `bee-queue://[[user]:password@]host:port/db?prefix=…` (core calls this by URL scheme). */
export function createAdapter(url: URL): BeeQueueAdapter {
  const o = parseUrlOptions(url);
  return new BeeQueueAdapter({
    redis: {
      host: o.host,
      port: o.port,
      db: o.db,
      ...(o.user !== undefined ? { user: o.user } : {}),
      ...(o.password !== undefined ? { password: o.password } : {}),
      ...(o.tls ? { tls: {} } : {}),
    },
    ...(o.prefix !== undefined ? { prefix: o.prefix } : {}),
    ...(o.stallIntervalMs !== undefined ? { stallIntervalMs: o.stallIntervalMs } : {}),
    ...(o.keepSucceeded !== undefined ? { keepSucceeded: o.keepSucceeded } : {}),
    ...(o.timeouts !== undefined ? { timeouts: o.timeouts } : {}),
  });
}
