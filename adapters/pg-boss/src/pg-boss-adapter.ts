import {
  type Adapter,
  type Capabilities,
  type CheckProblem,
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
  type NewJob,
  type QueueStats,
  type Retention,
  redactUrl,
  resolveTimeouts,
  type SerializedError,
  TaskportError,
  type Timeouts,
} from "@taskport/core";
import pg from "pg";
import { type JobInsert, PgBoss } from "pg-boss";
import { PgBossConsumer } from "./consumer.ts";
import { Engine } from "./engine.ts";
import { discardDeadLetters, jobPage, jobStatus, queueNames, queueStats, redrive } from "./inspection.ts";
import {
  CRASH_REDELIVERIES,
  expireSecondsFor,
  isJobData,
  type JobData,
  payloadOf,
  resultOf,
  singletonKeyFor,
  toJobData,
} from "./job-data.ts";
import { explainConnectError, isTransient } from "./pg-errors.ts";
import { installedSchemaVersion, versionProblem } from "./schema-version.ts";
import { type Executor, toExecutor } from "./transaction.ts";
import { parseUrlOptions, validateSchemaName } from "./url-options.ts";

export interface PgBossAdapterOptions {
  /** `postgres://user:password@host:5432/database`. One of `connectionString`, `pool` or `boss`. */
  readonly connectionString?: string;
  /** An existing `pg` pool to run pg-boss's statements on (LISTEN/NOTIFY then falls back to polling). */
  readonly pool?: pg.Pool;
  /** An existing, started pg-boss instance; the adapter never stops it. */
  readonly boss?: PgBoss;
  /** The schema pg-boss lives in. Default `pgboss`. Must match the `boss` instance's, when given. */
  readonly schema?: string;
  /** Jobs claimed per fetch, at most. Default 50. */
  readonly batchSize?: number;
  /** Idle polling backstop in ms while LISTEN/NOTIFY is up (it wakes workers at once). Default 2000. */
  readonly pollingIntervalMs?: number;
  /** A running job not heard from for this long is put back (a dead worker). Default 10, minimum 10. */
  readonly heartbeatSeconds?: number;
  /** How often pg-boss's supervisor looks for dead workers' jobs. Default 5. */
  readonly superviseIntervalSeconds?: number;
  /**
   * How often each queue's finished jobs past the backend's `retention` are deleted (pg-boss's
   * `maintenanceIntervalSeconds`; its own default is a day). Default 300.
   */
  readonly maintenanceIntervalSeconds?: number;
  /** Active job expiry when a task has no timeout, in seconds. Default 900 (pg-boss's). */
  readonly expireInSeconds?: number;
  /** Connections in the pool pg-boss creates. Default 10. */
  readonly max?: number;
  /** `application_name` of the connections, to find them in `pg_stat_activity`. Default `taskport`. */
  readonly applicationName?: string;
  /**
   * Bounds on calls to PostgreSQL: `{ connectMs, operationMs, closeMs }`, default 10 s, 30 s, 10 s.
   * The pool pg-boss creates gets pg's `connectionTimeoutMillis` (connectMs) and `query_timeout`
   * (operationMs); starting pg-boss (connect and schema setup), an enqueue and a worker's setup are
   * bounded too: past connectMs + operationMs for the start a `ConnectionError`, past operationMs
   * for a call a `DeadlineError`. `close()` returns after closeMs. Statements on your own pool,
   * instance or transaction are bounded by core only.
   */
  readonly timeouts?: Partial<Timeouts>;
}

/** pg-boss's own `deleteAfterSeconds` of a queue (7 days, core's default failed retention too). */
const PG_BOSS_DELETE_AFTER_SECONDS = 604_800;

const CAPABILITIES: Capabilities = Object.freeze({
  delay: true,
  priority: true,
  results: true,
  cancel: true,
  deduplication: "until-finished",
  nativeBulkEnqueue: true,
  transactions: true,
  // pg-boss fetches by priority, then created_on: enqueues made one after another start in order.
  ordering: "fifo",
  // pg-boss has no place for a running job's progress.
  progress: false,
  deadLetter: true,
  // pg-boss puts a dead worker's job back with its retry count raised; a stopping worker's unstarted
  // jobs go back with it lowered again (Engine.release).
  crashCountsAsAttempt: true,
  // SQL over pg-boss's job table (its own counts lag by a monitor interval); redrive resets the
  // attempts, which pg-boss's `retry()` does not, and discarding deletes the failed rows. pg-boss
  // has no pause: a fetch takes any queue's ready jobs, and a paused state kept beside it would
  // not stop plain pg-boss workers.
  stats: true,
  listJobs: true,
  redrive: true,
  discardDeadLetters: true,
  pause: false,
  // Each finished job gets the backend's retention as its deletion_seconds; pg-boss's maintenance
  // deletes it past that (every maintenanceIntervalSeconds).
  retention: true,
  // In the job's data, as JSON text (`headersJson`) like the payload.
  headers: true,
});

/**
 * taskport over pg-boss 12: jobs live in PostgreSQL, so an enqueue can commit or roll back with the
 * application's own transaction. Nothing connects until the first call that needs the database.
 */
export class PgBossAdapter implements Adapter {
  readonly name = "pg-boss";
  readonly capabilities: Capabilities = CAPABILITIES;
  readonly #options: PgBossAdapterOptions;
  readonly #schema: string;
  readonly #where: string;
  readonly #secrets: string[];
  readonly #timeouts: Timeouts;
  #engine: Promise<Engine> | undefined;
  #ownsBoss = false;
  readonly #queues = new Map<string, Promise<void>>();
  readonly #consumers = new Set<PgBossConsumer>();
  #closed = false;

  constructor(options: PgBossAdapterOptions) {
    if (!options.connectionString && !options.pool && !options.boss) {
      throw new TaskportError(
        "pg-boss",
        "needs a connectionString, a pg pool or a pg-boss instance: new PgBossAdapter({ connectionString: 'postgres://…' }).",
      );
    }
    this.#options = options;
    this.#schema = validateSchemaName(options.schema ?? "pgboss");
    this.#timeouts = resolveTimeouts(options.timeouts, "pg-boss");
    this.#where = options.connectionString
      ? redactUrl(options.connectionString)
      : options.pool
        ? "the given pool"
        : "the given pg-boss instance";
    const password = options.connectionString ? safePassword(options.connectionString) : undefined;
    this.#secrets = password ? [password, encodeURIComponent(password)] : [];
  }

  get #expireSeconds(): number {
    return this.#options.expireInSeconds ?? 900;
  }

  get schema(): string {
    return this.#schema;
  }

  /** The started pg-boss instance (connecting on first call), for what taskport does not wrap. */
  async pgBoss(): Promise<PgBoss> {
    return (await this.#start()).boss;
  }

  #start(): Promise<Engine> {
    if (this.#closed) return Promise.reject(new TaskportError("pg-boss", "this adapter was closed; create a new one."));
    const { connectMs, operationMs } = this.#timeouts;
    let opening: PgBoss | undefined;
    // pg's connectionTimeoutMillis ends a connection whose startup does not finish; this bounds
    // the whole start (pool, schema checks and setup), which a silent server would otherwise hold.
    this.#engine ??= connectWithin(
      "pg-boss",
      "start pg-boss (connect and schema setup)",
      this.#where,
      connectMs + operationMs,
      this.#open((boss) => {
        opening = boss;
      }),
      () => {
        if (this.#ownsBoss) opening?.stop({ graceful: false, close: true, timeout: 1_000 }).catch(() => {});
      },
    ).catch((error: unknown) => {
      this.#engine = undefined;
      throw error instanceof TaskportError ? error : explainConnectError(error, this.#where, this.#schema, this.#secrets);
    });
    return this.#engine;
  }

  async #open(created: (boss: PgBoss) => void): Promise<Engine> {
    const o = this.#options;
    let boss = o.boss;
    if (!boss) {
      const pool = o.pool;
      boss = new PgBoss({
        schema: this.#schema,
        ...(pool
          ? { db: { executeSql: (text: string, values?: unknown[]) => pool.query(text, values as unknown[]) } }
          : {
              connectionString: o.connectionString as string,
              max: o.max ?? 10,
              application_name: o.applicationName ?? "taskport",
              connectionTimeoutMillis: this.#timeouts.connectMs,
              query_timeout: this.#timeouts.operationMs,
            }),
        supervise: true,
        superviseIntervalSeconds: o.superviseIntervalSeconds ?? 5,
        monitorIntervalSeconds: o.superviseIntervalSeconds ?? 5,
        maintenanceIntervalSeconds: o.maintenanceIntervalSeconds ?? 300,
        schedule: false,
        registerInstance: false,
        // taskport holds its own LISTEN (through pg-boss's Db.listen) for its own fetch loop.
        useListenNotify: false,
      });
      this.#ownsBoss = true;
      created(boss);
      boss.on("error", (error: Error) => this.#report(error));
      try {
        await boss.start();
      } catch (error) {
        await boss.stop({ graceful: false, close: true }).catch(() => {});
        // A start that fails on a schema from a newer pg-boss says "relation … does not exist".
        throw (await this.#diagnoseVersion().catch(() => undefined)) ?? error;
      }
    }
    const problem = versionProblem(this.#schema, await installedSchemaVersion(boss.getDb() as Executor, this.#schema));
    if (problem) {
      if (this.#ownsBoss) await boss.stop({ graceful: false, close: true }).catch(() => {});
      throw problem;
    }
    const engine = new Engine(boss, this.#schema, {
      batchSize: o.batchSize ?? 50,
      heartbeatSeconds: Math.max(10, o.heartbeatSeconds ?? 10),
      pollingIntervalMs: o.pollingIntervalMs ?? 2_000,
    });
    await engine.ensureDedupIndex();
    return engine;
  }

  async #diagnoseVersion(): Promise<TaskportError | undefined> {
    const o = this.#options;
    if (o.pool) return versionProblem(this.#schema, await installedSchemaVersion(toExecutor(o.pool), this.#schema));
    if (!o.connectionString) return undefined;
    const client = new pg.Client({
      connectionString: o.connectionString,
      application_name: o.applicationName ?? "taskport",
      connectionTimeoutMillis: this.#timeouts.connectMs,
      query_timeout: this.#timeouts.operationMs,
    });
    await client.connect();
    try {
      return versionProblem(this.#schema, await installedSchemaVersion(toExecutor(client), this.#schema));
    } finally {
      await client.end().catch(() => {});
    }
  }

  /** pg-boss's own background errors: to the workers that can report them, else dropped (callers see theirs). */
  #report(error: Error): void {
    for (const consumer of this.#consumers) consumer.reportError(error);
  }

  /** Create `queue` once per adapter; pg-boss silently drops jobs sent to a queue that does not exist. */
  #ensureQueue(engine: Engine, queue: string): Promise<void> {
    let ready = this.#queues.get(queue);
    if (!ready) {
      ready = engine.boss
        .createQueue(queue, {
          // Deduplication comes from taskport's own partial index (job-data.ts), not the policy.
          policy: "standard",
          notify: true,
          // The defaults of a job with one attempt and no timeout; other jobs carry their own.
          retryLimit: CRASH_REDELIVERIES,
          retryDelay: 0,
          expireInSeconds: this.#expireSeconds,
          heartbeatSeconds: Math.max(10, this.#options.heartbeatSeconds ?? 10),
        })
        .catch((error: unknown) => {
          this.#queues.delete(queue);
          throw error;
        });
      this.#queues.set(queue, ready);
    }
    return ready;
  }

  async enqueue(jobs: readonly NewJob[], context: EnqueueContext): Promise<EnqueueReceipt[]> {
    const engine = await this.#start();
    return this.#bounded(jobs.length === 1 ? "enqueue" : "enqueueMany", this.#enqueue(engine, jobs, context));
  }

  /** A call over the open pool, bounded by operationMs (pg's query_timeout bounds each statement too). */
  #bounded<T>(operation: string, work: Promise<T>): Promise<T> {
    return deadline("pg-boss", operation, this.#where, this.#timeouts.operationMs, work);
  }

  async #enqueue(engine: Engine, jobs: readonly NewJob[], context: EnqueueContext): Promise<EnqueueReceipt[]> {
    const db = context.transaction !== undefined ? toExecutor(context.transaction) : undefined;
    if (jobs.length === 1) {
      const job = jobs[0] as NewJob;
      await this.#ensureQueue(engine, job.queue);
      return this.#store(engine, job.queue, jobs, db, context.retention);
    }
    const receipts: EnqueueReceipt[] = new Array(jobs.length);
    await Promise.all(
      [...indexesByQueue(jobs)].map(async ([queue, indexes]) => {
        await this.#ensureQueue(engine, queue);
        const group = indexes.map((i) => jobs[i] as NewJob);
        const stored = await this.#store(engine, queue, group, db, context.retention);
        indexes.forEach((index, k) => {
          receipts[index] = stored[k] as EnqueueReceipt;
        });
      }),
    );
    return receipts;
  }

  async #store(
    engine: Engine,
    queue: string,
    jobs: readonly NewJob[],
    db: Executor | undefined,
    retention: Retention | undefined,
  ): Promise<EnqueueReceipt[]> {
    // A job that pg-boss itself fails (its expiry) keeps the failed retention; the consumer sets the
    // one of how it finished (succeeded or failed) when it settles the job.
    const keep = retention && Math.ceil(retention.failedMs / 1_000);
    // Only what differs from the queue's defaults (see #ensureQueue) travels with each row: pg-boss
    // fills the rest in SQL, and a bulk insert's JSON stays small.
    const rows: JobInsert<JobData>[] = jobs.map((job) => {
      const row: JobInsert<JobData> = { id: job.id, data: toJobData(job) };
      if (keep !== undefined && keep !== PG_BOSS_DELETE_AFTER_SECONDS) row.deleteAfterSeconds = keep;
      if (job.priority !== 0) row.priority = job.priority;
      if (job.maxAttempts !== 1) row.retryLimit = job.maxAttempts - 1 + CRASH_REDELIVERIES;
      if (job.timeoutMs !== undefined) row.expireInSeconds = expireSecondsFor(job.timeoutMs, this.#expireSeconds);
      if (job.deduplicationKey !== undefined) row.singletonKey = singletonKeyFor(job) as string;
      if (job.runAt !== undefined) row.startAfter = new Date(job.runAt);
      return row;
    });
    const inserted = await this.#insert(engine, queue, rows, db);
    if (jobs.some((job) => job.runAt !== undefined && job.runAt > Date.now())) await engine.notifyDelayed(queue, db);
    const receipts: EnqueueReceipt[] = [];
    for (const job of jobs) {
      if (inserted.has(job.id)) {
        receipts.push(job);
        continue;
      }
      if (job.deduplicationKey === undefined) {
        throw new TaskportError(
          "pg-boss",
          `job ${job.id} was not stored in queue "${queue}" and has no deduplication key; nothing else can explain it. Retry the enqueue.`,
        );
      }
      const holder = await engine.holderOf(queue, singletonKeyFor(job) as string, db);
      if (holder) {
        receipts.push({ id: holder, deduplicated: true });
      } else {
        // The holder finished between our insert and the lookup: the key is free again.
        const again = await this.#insert(
          engine,
          queue,
          rows.filter((r) => r.id === job.id),
          db,
        );
        if (!again.has(job.id))
          throw new TaskportError(
            "pg-boss",
            `job ${job.id} could not be stored in queue "${queue}" (deduplication race). Retry the enqueue.`,
          );
        receipts.push(job);
      }
    }
    return receipts;
  }

  /** Insert rows; returns the ids stored. Outside a caller's transaction, a dropped connection is retried. */
  async #insert(engine: Engine, queue: string, rows: JobInsert<JobData>[], db: Executor | undefined): Promise<Set<string>> {
    const once = async (): Promise<Set<string>> => {
      if (rows.length === 1) {
        const row = rows[0] as JobInsert<JobData>;
        const { data, ...options } = row;
        const id = await engine.boss.send(queue, data as object, { ...options, ...(db ? { db } : {}) } as never);
        return new Set(id ? [id] : []);
      }
      const ids = (await engine.boss.insert(queue, rows, { returnId: true, ...(db ? { db } : {}) } as never)) as string[] | null;
      return new Set(ids ?? []);
    };
    if (db) return once();
    for (let attempt = 1; ; attempt++) {
      try {
        return await once();
      } catch (error) {
        if (!isTransient(error) || attempt >= 5) throw this.#wrap(error);
        await new Promise((resolve) => setTimeout(resolve, 200 * attempt));
        // The failed call may have committed before the connection dropped: count those as stored.
        const existing = await engine
          .existingIds(
            queue,
            rows.map((r) => r.id as string),
          )
          .catch(() => new Set<string>());
        if (existing.size === rows.length) return existing;
        if (existing.size > 0) rows = rows.filter((r) => !existing.has(r.id as string));
      }
    }
  }

  /** Run a read or a command; a driver error reaches the caller as a named taskport error. */
  async #call<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      throw this.#wrap(error);
    }
  }

  #wrap(error: unknown): TaskportError {
    return error instanceof TaskportError ? error : explainConnectError(error, this.#where, this.#schema, this.#secrets);
  }

  async consume(options: ConsumeOptions, handler: DeliveryHandler): Promise<Consumer> {
    const engine = await this.#start();
    await this.#bounded(
      "start a worker (create its queues)",
      Promise.all(options.queues.map((queue) => this.#ensureQueue(engine, queue))),
    ).catch((error: unknown) => {
      throw this.#wrap(error);
    });
    const consumer = new PgBossConsumer(engine, options, handler, () => this.#consumers.delete(consumer));
    this.#consumers.add(consumer);
    engine.attach(consumer, (error) => consumer.reportError(error));
    consumer.start();
    return consumer;
  }

  async getJob(id: string, queue: string): Promise<JobInfo | null> {
    // pg-boss ids are UUIDs: any other id names no job (and would be a SQL error).
    if (!UUID.test(id)) return null;
    const engine = await this.#start();
    const job = await this.#call(async () =>
      (await this.#queueExists(engine, queue)) ? engine.boss.getJobById<JobData>(queue, id) : null,
    );
    if (!job || !isJobData(job.data) || pastRetention(job)) return null;
    const output = job.output as Record<string, unknown> | null | undefined;
    const status = jobStatus(job.state, new Date(job.startAfter).getTime() <= Date.now());
    const attempt = job.startedOn ? job.retryCount + 1 : 0;
    return {
      id: job.id,
      name: job.data.task,
      queue,
      status,
      payload: payloadOf(job.data),
      attempt,
      maxAttempts: job.data.maxAttempts,
      enqueuedAt: job.data.enqueuedAt,
      ...(status === "succeeded" && output ? { result: resultOf(output) } : {}),
      ...((status === "failed" || (status !== "succeeded" && output)) && output ? { error: toError(output) } : {}),
      ...(status === "scheduled" ? { runAt: new Date(job.startAfter).getTime() } : {}),
      ...(job.completedOn ? { finishedAt: new Date(job.completedOn).getTime() } : {}),
    };
  }

  async #queueExists(engine: Engine, queue: string): Promise<boolean> {
    if (this.#queues.has(queue)) return true;
    return (await engine.boss.getQueue(queue)) !== null;
  }

  async cancel(id: string, queue: string): Promise<boolean> {
    if (!UUID.test(id)) return false;
    const engine = await this.#start();
    return this.#call(async () => {
      if (!(await this.#queueExists(engine, queue))) return false;
      const response = (await engine.boss.cancel(queue, id)) as { affected?: number };
      return (response.affected ?? 0) > 0;
    });
  }

  /** Jobs of `queue` that failed for good, newest first. They stay in the queue's table, state `failed`; `boss.retry(queue, id)` replays one. */
  async listDeadLetters(queue: string, limit = 100): Promise<JobInfo[]> {
    const engine = await this.#start();
    const rows = await this.#call(() => engine.deadLetters(queue, limit));
    return rows.flatMap((row) => {
      const data = row.data;
      if (!isJobData(data)) return [];
      return [
        {
          id: String(row.id),
          name: data.task,
          queue,
          status: "failed" as const,
          payload: payloadOf(data),
          attempt: Number(row.retry_count) + 1,
          maxAttempts: data.maxAttempts,
          enqueuedAt: data.enqueuedAt,
          ...(row.output ? { error: toError(row.output as Record<string, unknown>) } : {}),
          ...(row.completed_on ? { finishedAt: new Date(row.completed_on as string).getTime() } : {}),
        },
      ];
    });
  }

  async stats(queues?: readonly string[]): Promise<QueueStats[]> {
    const engine = await this.#start();
    return this.#call(() =>
      this.#bounded(
        "stats",
        (async () => {
          const names = queues ? [...new Set(queues)].sort() : await queueNames(engine.db, this.#schema);
          return names.length === 0 ? [] : queueStats(engine.db, this.#schema, names);
        })(),
      ),
    );
  }

  async listJobs(queue: string, options: JobListOptions): Promise<JobPage> {
    const engine = await this.#start();
    return this.#call(() => this.#bounded("listJobs", jobPage(engine.db, this.#schema, queue, options)));
  }

  async redrive(queue: string, ids?: readonly string[]): Promise<number> {
    // pg-boss ids are UUIDs: any other id names no job (and would be a SQL error).
    const valid = ids?.filter((id) => UUID.test(id));
    if (valid && valid.length === 0) return 0;
    const engine = await this.#start();
    const count = await this.#call(() => this.#bounded("redrive", redrive(engine.db, this.#schema, engine.channel, queue, valid)));
    if (count > 0) engine.wake(queue);
    return count;
  }

  async discardDeadLetters(queue: string, ids?: readonly string[]): Promise<number> {
    const valid = ids?.filter((id) => UUID.test(id));
    if (valid && valid.length === 0) return 0;
    const engine = await this.#start();
    return this.#call(() => this.#bounded("discardDeadLetters", discardDeadLetters(engine.db, this.#schema, queue, valid)));
  }

  async check(): Promise<CheckProblem[]> {
    try {
      await this.#start();
      return [];
    } catch (error) {
      return [{ message: (error as Error).message }];
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const opening = this.#engine;
    this.#engine = undefined;
    let engine: Engine | undefined;
    // A server that never answers would hold the pool's end forever: past closeMs its connections
    // are destroyed and close() returns.
    await closeWithin(
      this.#timeouts.closeMs,
      async () => {
        engine = await opening?.catch(() => undefined);
        if (!engine) return;
        await engine.close();
        // A given pg-boss instance belongs to the caller, who stops it.
        if (this.#ownsBoss) await engine.boss.stop({ graceful: false, close: true, timeout: 1_000 }).catch(() => {});
      },
      () => {
        if (this.#ownsBoss && engine) destroyPool(engine.boss);
      },
    );
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function toError(output: Record<string, unknown>): SerializedError {
  const message = typeof output.message === "string" ? output.message : JSON.stringify(output);
  return {
    name: typeof output.name === "string" ? output.name : "Error",
    message,
    ...(typeof output.stack === "string" ? { stack: output.stack } : {}),
  };
}

/** Destroy the sockets of the pool pg-boss made (pg keeps them in `_clients`), for a close that cannot wait. */
function destroyPool(boss: PgBoss): void {
  const pool = (boss.getDb() as { pool?: { _clients?: { connection?: { stream?: { destroy(): void } } }[] } }).pool;
  for (const client of pool?._clients ?? []) client.connection?.stream?.destroy();
}

function safePassword(connectionString: string): string | undefined {
  try {
    return decodeURIComponent(new URL(connectionString).password) || undefined;
  } catch {
    return undefined;
  }
}

/** Build an adapter from `postgres://…?schema=…&batchSize=…&max=…` (core calls this by URL scheme). */
export function createAdapter(url: URL): PgBossAdapter {
  const options = parseUrlOptions(url);
  return new PgBossAdapter(options);
}

/**
 * A finished job past its retention reads as gone at once, as on every engine; pg-boss's maintenance
 * deletes it at its next pass (every maintenanceIntervalSeconds).
 */
function pastRetention(job: { completedOn: Date | null; deleteAfterSeconds: number }): boolean {
  if (!job.completedOn || !(job.deleteAfterSeconds > 0)) return false;
  return new Date(job.completedOn).getTime() + job.deleteAfterSeconds * 1_000 <= Date.now();
}
