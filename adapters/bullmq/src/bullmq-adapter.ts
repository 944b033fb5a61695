import {
  type Adapter,
  type Capabilities,
  type CheckProblem,
  ConfigurationError,
  type ConsumeOptions,
  type Consumer,
  closeWithin,
  type DeliveryHandler,
  deadline,
  type EnqueueContext,
  type EnqueueReceipt,
  indexesByQueue,
  type JobInfo,
  type JobListOptions,
  type JobPage,
  mapPriority,
  type NewJob,
  type QueueStats,
  type Retention,
  resolveTimeouts,
  TaskportError,
  type Timeouts,
} from "@taskport/core";
import { Job, type JobsOptions, type PostgresPoolConfig, type Queue } from "bullmq";
import type { Redis, RedisOptions } from "ioredis";
import { BullMQConsumer, taskportBackoff } from "./consumer.ts";
import type { Datastore } from "./datastore.ts";
import { discardJobs, jobPage, queueStats, redriveJobs } from "./inspection.ts";
import { type JobData, toJobInfo, toStatus } from "./job-data.ts";
import { PostgresDatastore } from "./postgres-datastore.ts";
import { RedisDatastore, validateClientName } from "./redis-datastore.ts";
import { withAdvice } from "./redis-errors.ts";
import { RetentionSweep } from "./retention-sweep.ts";
import { parsePostgresUrlOptions, parseUrlOptions, validatePrefix, validateQueueName } from "./url-options.ts";

export interface BullMQAdapterOptions {
  /** ioredis options (`host`, `port`, `db`, `username`, `password`, `tls`, …). Default 127.0.0.1:6379, db 0. */
  readonly redis?: RedisOptions;
  /**
   * Your own ioredis client for enqueueing and reading jobs; the adapter never closes it. Workers
   * open their own connections from its options (they block, and need `maxRetriesPerRequest: null`).
   */
  readonly connection?: Redis;
  /**
   * Run on BullMQ's PostgreSQL backend (BullMQ ≥ 6.7, with `pg` installed) instead of Redis: a
   * connection string or node-postgres pool settings, plus BullMQ's `schema` (default `bullmq`) and
   * `migrate` (create or upgrade BullMQ's tables on connect; default false, as BullMQ's: migrate
   * from a deployment step). `redis`, `connection` and `prefix` are Redis's and do not apply.
   */
  readonly postgres?: string | PostgresPoolConfig;
  /** BullMQ key prefix. Default `bull`, BullMQ's own, so plain BullMQ code sees the same queues. */
  readonly prefix?: string;
  /** How long a worker's lock on a job lasts without renewal (BullMQ `lockDuration`). Default 30000. */
  readonly lockDurationMs?: number;
  /** How often workers look for stalled jobs of crashed workers (BullMQ `stalledInterval`). Default 30000. */
  readonly stalledIntervalMs?: number;
  /**
   * Give every job a BullMQ priority, so that taskport priorities order jobs (default true). BullMQ
   * keeps prioritized jobs in a sorted set, slower to add to and take from than its plain wait list,
   * and runs jobs without a priority before all prioritized ones — so it is all or nothing. `false`:
   * jobs go to the wait list, in order, and an enqueue with a priority is refused
   * (`UnsupportedFeatureError`); for apps that never use priority.
   */
  readonly priorities?: boolean;
  /** CLIENT SETNAME of the producer connection; workers are named `<prefix>:<base64 queue>:w:<clientName>`. Default `taskport`. */
  readonly clientName?: string;
  /**
   * Bounds on calls to Redis: `{ connectMs, operationMs, closeMs }`, default 10 s, 30 s, 10 s. The
   * producer connection gets ioredis's `connectTimeout` and `commandTimeout` from them (a worker's
   * blocking connection waits for jobs, unbounded); a server that never answers fails the call.
   */
  readonly timeouts?: Partial<Timeouts>;
}
/**
 * BullMQ's `maxStalledCount` that no job reaches. The largest PostgreSQL `integer`: BullMQ's
 * PostgreSQL stall check takes it as one, and a larger number fails every check, so that stalled
 * jobs would never go back to wait (on Redis any number does: Lua compares doubles).
 */
const UNLIMITED_STALLS = 2 ** 31 - 1;
/** BullMQ's priorities run from 1 (first) up; taskport's 201 levels map onto 1…201. */
const PRIORITY_LOWEST = 201;

/**
 * taskport over BullMQ 6: a taskport job is an ordinary BullMQ job (name = task name, data
 * `{ tp: 1, payload }`), so BullMQ's own tools and code see and share the queues. Nothing
 * connects until the first call that needs Redis.
 */
export class BullMQAdapter implements Adapter {
  readonly name = "bullmq";
  readonly capabilities: Capabilities;
  readonly #store: Datastore;
  readonly #prefix: string;
  readonly #clientName: string;
  readonly #lockDurationMs: number | undefined;
  readonly #stalledIntervalMs: number | undefined;
  readonly #priorities: boolean;
  readonly #timeouts: Timeouts;
  #ready: Promise<void> | undefined;
  readonly #queues = new Map<string, Queue>();
  readonly #consumers = new Set<BullMQConsumer>();
  #closed = false;

  constructor(options: BullMQAdapterOptions = {}) {
    this.#prefix = validatePrefix(options.prefix ?? "bull");
    this.#clientName = validateClientName(options.clientName ?? "taskport");
    this.#lockDurationMs = optionalPositive("lockDurationMs", options.lockDurationMs);
    this.#stalledIntervalMs = optionalPositive("stalledIntervalMs", options.stalledIntervalMs);
    this.#priorities = options.priorities ?? true;
    this.#timeouts = resolveTimeouts(options.timeouts, "bullmq");
    this.#store = options.postgres === undefined ? this.#redisStore(options) : this.#postgresStore(options, options.postgres);
    this.capabilities = Object.freeze({
      delay: true,
      priority: this.#priorities,
      results: true,
      cancel: true,
      deduplication: "until-finished", // BullMQ's deduplication id is released when the job completes or fails
      nativeBulkEnqueue: true,
      // Redis is not the application's database: there is no transaction to join. On PostgreSQL it
      // may be, but BullMQ adds each job on a connection of its own pool and takes no client of the
      // caller's, so a job cannot join the app's transaction either (the outbox gives that).
      transactions: false,
      // One worker at concurrency 1 takes a queue's jobs of one priority in the order added (BullMQ
      // numbers prioritized jobs with a counter to keep that order; the wait list is a list).
      ordering: "fifo",
      progress: true,
      deadLetter: true,
      // Each stall (a worker that died holding the job) is counted in the job's `stalledCounter`,
      // and taskport counts it as an attempt; BullMQ's own stall limit is lifted (see consume).
      crashCountsAsAttempt: true,
      // Finished jobs go once past the backend's retention: BullMQ's removeOnComplete / removeOnFail
      // ages on Redis, a worker's sweep on PostgreSQL (./retention-sweep.ts).
      retention: true,
      // Inspection reads BullMQ's own lists and sets; redrive is `job.retry()` of failed jobs,
      // discarding is `Queue.remove()` of them, and pause is BullMQ's global `Queue.pause()`, which
      // every worker of the queue obeys.
      stats: true,
      listJobs: true,
      redrive: true,
      discardDeadLetters: true,
      pause: true,
      // In the job's data envelope (`data.headers`).
      headers: true,
    });
  }

  get prefix(): string {
    return this.#prefix;
  }

  #redisStore(options: BullMQAdapterOptions): RedisDatastore {
    return new RedisDatastore({
      redis: options.redis ?? {},
      connection: options.connection,
      prefix: this.#prefix,
      clientName: this.#clientName,
      timeouts: this.#timeouts,
    });
  }

  #postgresStore(options: BullMQAdapterOptions, postgres: string | PostgresPoolConfig): PostgresDatastore {
    const redisOnly = (["redis", "connection", "prefix"] as const).filter((key) => options[key] !== undefined);
    if (redisOnly.length > 0) {
      throw new ConfigurationError(
        "bullmq",
        `option ${redisOnly.join(", ")} is Redis's and does not apply with postgres; BullMQ on PostgreSQL keeps its queues in a schema (postgres.schema).`,
      );
    }
    const config: PostgresPoolConfig = typeof postgres === "string" ? { connectionString: postgres } : { ...postgres };
    return new PostgresDatastore({
      config: {
        // Connections are named after the client, as on Redis (BullMQ renames each worker's LISTEN
        // connection after its queue).
        application_name: this.#clientName,
        connectionTimeoutMillis: this.#timeouts.connectMs,
        // A second after the adapter's own bound. A query without an answer fails, and the pool
        // drops its connection: one that went silent (a partition that outlived its TCP state)
        // would otherwise hold a worker's every fetch forever. BullMQ's queries are all short.
        query_timeout: this.#timeouts.operationMs + 1_000,
        ...config,
      },
      timeouts: this.#timeouts,
    });
  }

  #connect(): Promise<void> {
    if (this.#closed) return Promise.reject(new TaskportError("bullmq", "this adapter was closed; create a new one."));
    this.#ready ??= this.#store.connect().catch((error: unknown) => {
      this.#ready = undefined;
      throw error;
    });
    return this.#ready;
  }

  async #queue(name: string): Promise<Queue> {
    let queue = this.#queues.get(name);
    if (!queue) {
      validateQueueName(name);
      await this.#connect();
      queue = this.#queues.get(name);
      if (!queue) {
        queue = this.#store.queue(name);
        queue.on("error", () => {});
        this.#queues.set(name, queue);
      }
    }
    return queue;
  }

  async enqueue(jobs: readonly NewJob[], context: EnqueueContext): Promise<EnqueueReceipt[]> {
    const retention = this.#store.retentionBy === "per-job" ? context.retention : undefined;
    if (jobs.length === 1) {
      const job = jobs[0] as NewJob;
      const queue = await this.#queue(job.queue);
      const added = await this.#bounded(
        "enqueue",
        queue.add(job.name, data(job, this.#store.jsonAsText), options(job, Date.now(), this.#priorities, retention)),
      ).catch((error: unknown) => {
        throw this.#wrap(error);
      });
      return [receipt(job, added.id)];
    }
    const receipts: EnqueueReceipt[] = new Array(jobs.length);
    const now = Date.now();
    await Promise.all(
      [...indexesByQueue(jobs)].map(async ([name, indexes]) => {
        const queue = await this.#queue(name);
        const added = await this.#bounded(
          "enqueueMany",
          queue.addBulk(
            indexes.map((i) => {
              const job = jobs[i] as NewJob;
              return { name: job.name, data: data(job, this.#store.jsonAsText), opts: options(job, now, this.#priorities, retention) };
            }),
          ),
        ).catch((error: unknown) => {
          // Ids are core's, so enqueueing the batch again cannot store a job twice.
          throw this.#wrap(error, ` Some of the ${indexes.length} jobs may be stored; enqueue them again: their ids make that safe.`);
        });
        indexes.forEach((index, k) => {
          receipts[index] = receipt(jobs[index] as NewJob, added[k]?.id);
        });
      }),
    );
    return receipts;
  }

  /** A call over the open connection, bounded by `operationMs`: a DeadlineError names it and the server. */
  #bounded<T>(operation: string, work: Promise<T>): Promise<T> {
    return deadline("bullmq", operation, this.#store.where, this.#timeouts.operationMs, work, () => this.#store.dropConnection());
  }

  #wrap(error: unknown, extra = ""): TaskportError {
    if (error instanceof TaskportError) return error;
    const wrapped = this.#store.explain(error);
    return extra ? withAdvice(wrapped, extra, error) : wrapped;
  }

  async consume(options: ConsumeOptions, handler: DeliveryHandler): Promise<Consumer> {
    if (this.#closed) throw new TaskportError("bullmq", "this adapter was closed; create a new one.");
    for (const queue of options.queues) validateQueueName(queue);
    // Fail fast with a clear message rather than a worker that retries a bad password forever.
    await this.#connect();
    const store = this.#store;
    const retention = options.retention;
    const sweep =
      store.retentionBy === "sweep" && retention
        ? new RetentionSweep(() => Promise.all(options.queues.map((queue) => this.#queue(queue))), retention)
        : undefined;
    const consumer = new BullMQConsumer(
      {
        createWorker: (queue, processor, workerOptions) => store.worker(queue, processor, workerOptions),
        workerName: `${this.#clientName}-worker`,
        jsonAsText: store.jsonAsText,
        workerOptions: {
          ...(this.#lockDurationMs !== undefined ? { lockDuration: this.#lockDurationMs } : {}),
          ...(this.#stalledIntervalMs !== undefined ? { stalledInterval: this.#stalledIntervalMs } : {}),
          // A crash counts against the task's attempts and nothing else: BullMQ's stall limit would
          // fail a job with attempts left, before any taskport worker could see it. The count of
          // stalls goes on (`stalledCounter`); core gives a crashed last attempt one extra start
          // and fails the job as WorkerLostError if that one stalls too.
          maxStalledCount: UNLIMITED_STALLS,
          settings: { backoffStrategy: taskportBackoff },
        },
      },
      options,
      handler,
      () => {
        this.#consumers.delete(consumer);
        void sweep?.stop();
      },
    );
    this.#consumers.add(consumer);
    try {
      await this.#bounded("start a worker", consumer.start());
    } catch (error) {
      await consumer.abandon();
      throw this.#wrap(error);
    }
    return consumer;
  }

  async getJob(id: string, queue: string): Promise<JobInfo | null> {
    const q = await this.#queue(queue);
    try {
      // State first, then the record: a job that finished in between is read with its result.
      const status = toStatus(await q.getJobState(id));
      const job = status ? await Job.fromId(q, id) : undefined;
      if (job && status) return toJobInfo(job, queue, status);
      return await this.#store.cancelled(queue, id);
    } catch (error) {
      throw this.#wrap(error);
    }
  }

  async cancel(id: string, queue: string): Promise<boolean> {
    const q = await this.#queue(queue);
    try {
      const job = await Job.fromId(q, id);
      if (!job) return false;
      const status = toStatus(await job.getState());
      if (status !== "queued" && status !== "scheduled") return false;
      // remove() refuses a job a worker has locked meanwhile: then it has started, and stays.
      if ((await q.remove(id)) !== 1) return false;
      await this.#store.recordCancelled(queue, { ...toJobInfo(job, queue, "cancelled"), finishedAt: Date.now() });
      return true;
    } catch (error) {
      throw this.#wrap(error);
    }
  }

  async listDeadLetters(queue: string, limit: number): Promise<JobInfo[]> {
    const q = await this.#queue(queue);
    const jobs = await q.getFailed(0, Math.max(0, limit - 1)).catch((error: unknown) => {
      throw this.#wrap(error);
    });
    return jobs.filter((job) => job !== undefined).map((job) => toJobInfo(job, queue, "failed"));
  }

  async stats(queues?: readonly string[]): Promise<QueueStats[]> {
    try {
      const names = queues
        ? [...new Set(queues)]
        : await this.#bounded(
            "stats",
            this.#connect().then(() => this.#store.listQueues()),
          );
      const now = Date.now();
      const stats = await this.#bounded(
        "stats",
        Promise.all(names.sort().map(async (name) => queueStats(await this.#queue(name), this.#store, now))),
      );
      return stats;
    } catch (error) {
      throw this.#wrap(error);
    }
  }

  async listJobs(queue: string, options: JobListOptions): Promise<JobPage> {
    try {
      return await this.#bounded("listJobs", jobPage(await this.#queue(queue), this.#store, options));
    } catch (error) {
      throw this.#wrap(error);
    }
  }

  async redrive(queue: string, ids?: readonly string[]): Promise<number> {
    try {
      return await redriveJobs(await this.#queue(queue), this.#store, ids);
    } catch (error) {
      throw this.#wrap(error);
    }
  }

  async discardDeadLetters(queue: string, ids?: readonly string[]): Promise<number> {
    try {
      return await discardJobs(await this.#queue(queue), ids);
    } catch (error) {
      throw this.#wrap(error);
    }
  }

  async pause(queue: string): Promise<void> {
    const q = await this.#queue(queue);
    await this.#bounded("pause", q.pause()).catch((error: unknown) => {
      throw this.#wrap(error);
    });
  }

  async resume(queue: string): Promise<void> {
    const q = await this.#queue(queue);
    await this.#bounded("resume", q.resume()).catch((error: unknown) => {
      throw this.#wrap(error);
    });
  }

  /** Delete everything stored for `queue` (BullMQ's `obliterate`). For tests and operators; stop its workers first. */
  async destroyQueue(queue: string): Promise<void> {
    const q = await this.#queue(queue);
    await q.obliterate({ force: true });
  }

  async check(): Promise<CheckProblem[]> {
    try {
      await this.#connect();
      return await this.#store.problems();
    } catch (error) {
      return [{ message: this.#wrap(error).message }];
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const queues = [...this.#queues.values()];
    this.#queues.clear();
    // A server that never answers would hold QUIT and the queues' close forever: past closeMs every
    // connection is dropped and close() returns.
    await closeWithin(
      this.#timeouts.closeMs,
      async () => {
        await Promise.all([...this.#consumers].map((consumer) => consumer.abandon()));
        await Promise.all(queues.map((queue) => queue.close().catch(() => {})));
        await this.#ready?.catch(() => undefined);
        await this.#store.close();
      },
      () => {
        for (const queue of queues) queue.disconnect().catch(() => {});
        this.#store.forceClose();
      },
    );
  }
}

function data(job: NewJob, jsonAsText: boolean): JobData {
  const timeout = job.timeoutMs === undefined ? {} : { timeoutMs: job.timeoutMs };
  if (jsonAsText) {
    return {
      tp: 1,
      payloadJson: job.payloadJson,
      ...timeout,
      ...(job.headers === undefined ? {} : { headersJson: JSON.stringify(job.headers) }),
    };
  }
  return { tp: 1, payload: job.payload, ...timeout, ...(job.headers === undefined ? {} : { headers: job.headers }) };
}

function options(job: NewJob, now: number, priorities: boolean, retention: Retention | undefined): JobsOptions {
  const opts: JobsOptions = { jobId: job.id, timestamp: job.enqueuedAt };
  // BullMQ keeps finished jobs forever unless told: its own age limits, in seconds, applied as jobs finish.
  if (retention) {
    opts.removeOnComplete = { age: Math.ceil(retention.succeededMs / 1_000) };
    opts.removeOnFail = { age: Math.ceil(retention.failedMs / 1_000) };
  }
  if (priorities) opts.priority = mapPriority(job.priority, 1, PRIORITY_LOWEST, true);
  if (job.maxAttempts > 1) {
    opts.attempts = job.maxAttempts;
    opts.backoff = { type: "taskport" };
  }
  // BullMQ runs a delayed job at timestamp + delay, and the timestamp is the enqueue time: a job
  // handed over later (by an outbox relay) would otherwise start early by the time in between.
  if (job.runAt !== undefined && job.runAt > now) opts.delay = job.runAt - job.enqueuedAt;
  if (job.deduplicationKey !== undefined) opts.deduplication = { id: job.deduplicationKey };
  return opts;
}

function receipt(job: NewJob, id: string | undefined): EnqueueReceipt {
  if (id === undefined || id === job.id) return { id: job.id };
  return { id, deduplicated: true };
}

function optionalPositive(name: string, value: number | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!Number.isInteger(value) || value < 1) {
    throw new ConfigurationError("bullmq", `option ${name} must be a whole number of ms ≥ 1, got ${value}.`);
  }
  return value;
}

/**
 * Build an adapter from `bullmq://[[user]:password@]host:port/db?prefix=…` (Redis) or
 * `bullmq+postgres://user@host:5432/database?schema=…` (BullMQ's PostgreSQL backend); core calls
 * this by URL scheme.
 */
export function createAdapter(url: URL): BullMQAdapter {
  if (url.protocol === "bullmq+postgres:") {
    const { connectionString, schema, migrate, max, ...rest } = parsePostgresUrlOptions(url);
    return new BullMQAdapter({
      postgres: {
        connectionString,
        ...(schema !== undefined ? { schema } : {}),
        ...(migrate !== undefined ? { migrate } : {}),
        ...(max !== undefined ? { max } : {}),
      },
      ...rest,
    });
  }
  const o = parseUrlOptions(url);
  return new BullMQAdapter({
    redis: {
      host: o.host,
      port: o.port,
      db: o.db,
      ...(o.username !== undefined ? { username: o.username } : {}),
      ...(o.password !== undefined ? { password: o.password } : {}),
      ...(o.tls ? { tls: {} } : {}),
    },
    ...(o.prefix !== undefined ? { prefix: o.prefix } : {}),
    ...(o.lockDurationMs !== undefined ? { lockDurationMs: o.lockDurationMs } : {}),
    ...(o.stalledIntervalMs !== undefined ? { stalledIntervalMs: o.stalledIntervalMs } : {}),
    ...(o.priorities !== undefined ? { priorities: o.priorities } : {}),
    ...(o.timeouts !== undefined ? { timeouts: o.timeouts } : {}),
  });
}
