import {
  type Adapter,
  type Capabilities,
  type CheckProblem,
  ConfigurationError,
  type ConsumeOptions,
  type Consumer,
  closeWithin,
  connectWithin,
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
import { Job, type JobsOptions, Queue } from "bullmq";
import { Redis, type RedisOptions } from "ioredis";
import { BullMQConsumer, taskportBackoff } from "./consumer.ts";
import { type InspectionContext, jobPage, listQueues, queueStats, redriveJobs } from "./inspection.ts";
import { type JobData, toJobInfo, toStatus } from "./job-data.ts";
import { explainRedisError, withAdvice } from "./redis-errors.ts";
import { parseUrlOptions, validatePrefix, validateQueueName } from "./url-options.ts";

export interface BullMQAdapterOptions {
  /** ioredis options (`host`, `port`, `db`, `username`, `password`, `tls`, …). Default 127.0.0.1:6379, db 0. */
  readonly redis?: RedisOptions;
  /**
   * Your own ioredis client for enqueueing and reading jobs; the adapter never closes it. Workers
   * open their own connections from its options (they block, and need `maxRetriesPerRequest: null`).
   */
  readonly connection?: Redis;
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
/** The longest a BullMQ worker's blocking pop waits for Redis's answer (BullMQ caps its block at 10 s). */
const LONGEST_BLOCK_MS = 10_000;
/** BullMQ's `maxStalledCount` that no job reaches: the stall check compares it in Lua, whose numbers are doubles. */
const UNLIMITED_STALLS = Number.MAX_SAFE_INTEGER;
/** BullMQ's priorities run from 1 (first) up; taskport's 201 levels map onto 1…201. */
const PRIORITY_LOWEST = 201;
const CANCELLED_KEY = "tp-cancelled";

/**
 * taskport over BullMQ 6: a taskport job is an ordinary BullMQ job (name = task name, data
 * `{ tp: 1, payload }`), so BullMQ's own tools and code see and share the queues. Nothing
 * connects until the first call that needs Redis.
 */
export class BullMQAdapter implements Adapter {
  readonly name = "bullmq";
  readonly capabilities: Capabilities;
  readonly #redis: RedisOptions;
  readonly #ownClient: boolean;
  readonly #prefix: string;
  readonly #clientName: string;
  readonly #lockDurationMs: number | undefined;
  readonly #stalledIntervalMs: number | undefined;
  readonly #priorities: boolean;
  readonly #where: string;
  readonly #secrets: string[];
  readonly #timeouts: Timeouts;
  #client: Redis | undefined;
  #ready: Promise<Redis> | undefined;
  readonly #queues = new Map<string, Queue>();
  readonly #consumers = new Set<BullMQConsumer>();
  #closed = false;

  constructor(options: BullMQAdapterOptions = {}) {
    this.#redis = { host: "127.0.0.1", port: 6379, ...(options.connection?.options ?? {}), ...options.redis };
    this.#ownClient = options.connection === undefined;
    if (options.connection) this.#client = options.connection;
    this.#prefix = validatePrefix(options.prefix ?? "bull");
    this.#clientName = options.clientName ?? "taskport";
    if (!/^[!-~]+$/.test(this.#clientName)) {
      throw new ConfigurationError("bullmq", `clientName "${this.#clientName}" may not contain spaces or non-ASCII characters.`);
    }
    this.#lockDurationMs = optionalPositive("lockDurationMs", options.lockDurationMs);
    this.#stalledIntervalMs = optionalPositive("stalledIntervalMs", options.stalledIntervalMs);
    this.#priorities = options.priorities ?? true;
    this.#timeouts = resolveTimeouts(options.timeouts, "bullmq");
    const r = this.#redis;
    this.#where = r.path ?? `${r.host}:${r.port}/${r.db ?? 0}`;
    this.#secrets = [r.password].filter((s): s is string => typeof s === "string" && s !== "");
    this.capabilities = Object.freeze({
      delay: true,
      priority: this.#priorities,
      results: true,
      cancel: true,
      deduplication: "until-finished", // BullMQ's deduplication id is released when the job completes or fails
      nativeBulkEnqueue: true,
      // Redis is not the application's database: there is no transaction to join.
      transactions: false,
      // One worker at concurrency 1 takes a queue's jobs of one priority in the order added (BullMQ
      // numbers prioritized jobs with a counter to keep that order; the wait list is a list).
      ordering: "fifo",
      progress: true,
      deadLetter: true,
      // Each stall (a worker that died holding the job) is counted in the job's `stalledCounter`,
      // and taskport counts it as an attempt; BullMQ's own stall limit is lifted (see consume).
      crashCountsAsAttempt: true,
      // Finished jobs go once past the backend's retention (removeOnComplete / removeOnFail ages).
      retention: true,
      // Inspection reads BullMQ's own lists and sets; redrive is `job.retry()` of failed jobs, and
      // pause is BullMQ's global `Queue.pause()`, which every worker of the queue obeys.
      stats: true,
      listJobs: true,
      redrive: true,
      pause: true,
      // In the job's data envelope (`data.headers`).
      headers: true,
    });
  }

  get prefix(): string {
    return this.#prefix;
  }

  #connect(): Promise<Redis> {
    if (this.#closed) return Promise.reject(new TaskportError("bullmq", "this adapter was closed; create a new one."));
    this.#ready ??= (async () => {
      if (!this.#ownClient) return this.#client as Redis;
      const { connectMs, operationMs } = this.#timeouts;
      // ioredis's own bounds: a socket that does not connect is destroyed and retried, a command
      // without a reply rejects; the ones below bound the whole handshake and name the call.
      const client = new Redis({
        connectTimeout: connectMs,
        // A second after the adapter's own bound, whose DeadlineError names the call and which
        // replaces the connection a silent server holds.
        commandTimeout: operationMs + 1_000,
        ...this.#redis,
        lazyConnect: true,
        connectionName: this.#clientName,
      });
      // Errors of an established connection reach callers as rejected commands; ioredis reconnects.
      // While connecting, the first error ends the attempt with its reason (WRONGPASS, a reply that
      // is not Redis's), which connect() would reduce to "Connection is closed", or only report
      // after its own retries.
      let failed: ((error: unknown) => void) | undefined;
      const firstError = new Promise<never>((_, reject) => {
        failed = reject;
      });
      client.on("error", (error: unknown) => failed?.(error));
      try {
        // A server that accepts the connection but never answers (another service on the port)
        // would otherwise hold the first call forever.
        const connected = (async () => {
          await client.connect();
          await client.ping();
        })();
        await connectWithin("bullmq", "connect", this.#where, connectMs, Promise.race([connected, firstError]), () => client.disconnect());
      } catch (error) {
        client.disconnect();
        this.#ready = undefined;
        throw explainRedisError(error, this.#where, this.#secrets);
      } finally {
        failed = undefined;
      }
      this.#client = client;
      return client;
    })();
    return this.#ready;
  }

  async #queue(name: string): Promise<Queue> {
    let queue = this.#queues.get(name);
    if (!queue) {
      validateQueueName(name);
      const connection = await this.#connect();
      queue = this.#queues.get(name);
      if (!queue) {
        queue = new Queue(name, { connection, prefix: this.#prefix });
        queue.on("error", () => {});
        this.#queues.set(name, queue);
      }
    }
    return queue;
  }

  async enqueue(jobs: readonly NewJob[], context: EnqueueContext): Promise<EnqueueReceipt[]> {
    const retention = context.retention;
    if (jobs.length === 1) {
      const job = jobs[0] as NewJob;
      const queue = await this.#queue(job.queue);
      const added = await this.#bounded(
        "enqueue",
        queue.add(job.name, data(job), options(job, Date.now(), this.#priorities, retention)),
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
              return { name: job.name, data: data(job), opts: options(job, now, this.#priorities, retention) };
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
    return deadline("bullmq", operation, this.#where, this.#timeouts.operationMs, work, () => {
      // A connection that went silent stays silent (a partition that outlived its TCP state):
      // drop it and let ioredis reconnect, so the next call does not wait on it too.
      if (this.#ownClient) this.#client?.disconnect(true);
    });
  }

  #wrap(error: unknown, extra = ""): TaskportError {
    if (error instanceof TaskportError) return error;
    const wrapped = explainRedisError(error, this.#where, this.#secrets);
    return extra ? withAdvice(wrapped, extra, error) : wrapped;
  }

  async consume(options: ConsumeOptions, handler: DeliveryHandler): Promise<Consumer> {
    if (this.#closed) throw new TaskportError("bullmq", "this adapter was closed; create a new one.");
    for (const queue of options.queues) validateQueueName(queue);
    // Fail fast with a clear message rather than a worker that retries a bad password forever.
    await this.#connect();
    const consumer = new BullMQConsumer(
      {
        // BullMQ names only the blocking connection (`<prefix>:<base64 queue>:w:<name>`); this names the other.
        connection: {
          connectTimeout: this.#timeouts.connectMs,
          // A worker's connections wait on blocking pops, which Redis answers within BullMQ's
          // longest block (10 s): one silent for longer than that and operationMs is dead (a
          // partition that outlived its TCP state), and ioredis replaces it.
          socketTimeout: this.#timeouts.operationMs + LONGEST_BLOCK_MS,
          ...this.#redis,
          maxRetriesPerRequest: null,
          connectionName: `${this.#clientName}-worker`,
        },
        workerName: `${this.#clientName}-worker`,
        workerOptions: {
          prefix: this.#prefix,
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
      () => this.#consumers.delete(consumer),
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
      const cancelled = await (this.#client as Redis).hget(this.#key(queue, CANCELLED_KEY), id);
      return cancelled ? (JSON.parse(cancelled) as JobInfo) : null;
    } catch (error) {
      throw this.#wrap(error);
    }
  }

  #key(queue: string, key: string): string {
    return `${this.#prefix}:${queue}:${key}`;
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
      // BullMQ keeps no record of a removed job; taskport's cancelled status lives beside its keys.
      const info: JobInfo = { ...toJobInfo(job, queue, "cancelled"), finishedAt: Date.now() };
      await (this.#client as Redis).hset(this.#key(queue, CANCELLED_KEY), id, JSON.stringify(info));
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

  get #inspection(): InspectionContext {
    return {
      prefix: this.#prefix,
      queue: (name) => this.#queue(name),
      client: () => this.#connect(),
      cancelledKey: (queue) => this.#key(queue, CANCELLED_KEY),
    };
  }

  async stats(queues?: readonly string[]): Promise<QueueStats[]> {
    try {
      const names = queues
        ? [...new Set(queues)]
        : await this.#bounded(
            "stats",
            this.#connect().then((client) => listQueues(client, this.#prefix)),
          );
      const now = Date.now();
      const stats = await this.#bounded("stats", Promise.all(names.sort().map((name) => queueStats(this.#inspection, name, now))));
      return stats;
    } catch (error) {
      throw this.#wrap(error);
    }
  }

  async listJobs(queue: string, options: JobListOptions): Promise<JobPage> {
    try {
      return await this.#bounded("listJobs", jobPage(this.#inspection, queue, options));
    } catch (error) {
      throw this.#wrap(error);
    }
  }

  async redrive(queue: string, ids?: readonly string[]): Promise<number> {
    try {
      return await redriveJobs(this.#inspection, queue, ids);
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
      const client = await this.#connect();
      const info = await this.#bounded("check()", client.info("memory"));
      const problem = evictionProblem(info, this.#where);
      if (problem) return [problem];
      return [];
    } catch (error) {
      return [{ message: this.#wrap(error).message }];
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const queues = [...this.#queues.values()];
    this.#queues.clear();
    const ready = this.#ready;
    // A server that never answers would hold QUIT and the queues' close forever: past closeMs every
    // connection is dropped and close() returns.
    await closeWithin(
      this.#timeouts.closeMs,
      async () => {
        await Promise.all([...this.#consumers].map((consumer) => consumer.abandon()));
        await Promise.all(queues.map((queue) => queue.close().catch(() => {})));
        const client = await ready?.catch(() => undefined);
        if (client && this.#ownClient) await client.quit().catch(() => client.disconnect());
      },
      () => {
        for (const queue of queues) queue.disconnect().catch(() => {});
        if (this.#ownClient) this.#client?.disconnect();
      },
    );
    this.#client = undefined;
  }
}

/**
 * BullMQ's own requirement: under memory pressure any other policy evicts queue keys, losing
 * jobs silently. `info` is the text of `INFO memory`.
 */
export function evictionProblem(info: string, where: string): CheckProblem | undefined {
  const policy = /maxmemory_policy:(\S+)/.exec(info)?.[1];
  if (policy === undefined || policy === "noeviction") return undefined;
  return {
    message: `[taskport] [bullmq] Redis at ${where} has maxmemory-policy "${policy}": under memory pressure it would evict queue keys and lose jobs. BullMQ requires "noeviction": set it in redis.conf or run CONFIG SET maxmemory-policy noeviction.`,
  };
}

function data(job: NewJob): JobData {
  return {
    tp: 1,
    payload: job.payload,
    ...(job.timeoutMs === undefined ? {} : { timeoutMs: job.timeoutMs }),
    ...(job.headers === undefined ? {} : { headers: job.headers }),
  };
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

/** Build an adapter from `bullmq://[[user]:password@]host:port/db?prefix=…` (core calls this by URL scheme). */
export function createAdapter(url: URL): BullMQAdapter {
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
