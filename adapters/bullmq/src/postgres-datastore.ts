import { type CheckProblem, ConfigurationError, connectWithin, type JobInfo, TaskportError, type Timeouts } from "@taskport/core";
import type { BackendFactory, PostgresPoolConfig, PostgresQueueBackend, Processor, Queue, Worker, WorkerOptions } from "bullmq";
import * as bullmq from "bullmq";
import type { Datastore, EnqueueTime } from "./datastore.ts";
import { explainPostgresError } from "./postgres-errors.ts";

/** BullMQ's own name for taskport's cancelled records in its per-queue `meta` table. */
const CANCELLED_FIELD = "tp-cancelled:";

export interface PostgresDatastoreOptions {
  /** node-postgres pool settings plus BullMQ's `schema` and `migrate`, as BullMQ takes them. */
  readonly config: PostgresPoolConfig;
  readonly timeouts: Timeouts;
}

type Factory = BackendFactory<PostgresQueueBackend, PostgresPoolConfig>;

/**
 * BullMQ's PostgreSQL backend, which BullMQ 6.7 added; older versions in the adapter's peer range
 * have none, and asking for it there is a configuration error, not a crash at import.
 */
function postgresBackend(): Factory {
  // A namespace import: a named one would fail to link on BullMQ 5, which lacks the export.
  const factory = (bullmq as { createPostgresBackend?: Factory }).createPostgresBackend;
  if (typeof factory !== "function") {
    throw new ConfigurationError(
      "bullmq",
      "BullMQ on PostgreSQL needs bullmq 6.7 or newer, and the installed bullmq has no PostgreSQL backend (createPostgresBackend). Run npm install bullmq@^6.7 pg, or use a bullmq:// (Redis) URL.",
    );
  }
  return factory;
}

/**
 * BullMQ on PostgreSQL: one BullMQ backend owns the pool the queues share (each Queue is a
 * sibling of it, BullMQ's `forQueue`); each worker builds its own backend, a pool and a LISTEN
 * connection, so that dropping them is what a crash does. Everything lives in one schema.
 */
export class PostgresDatastore implements Datastore {
  readonly where: string;
  readonly jsonAsText = true;
  // BullMQ's PostgreSQL backend runs an age DELETE in every finish's transaction (one more
  // statement per job, planned for any queue and state); a periodic sweep deletes the same jobs.
  readonly retentionBy = "sweep";
  readonly #config: PostgresPoolConfig;
  readonly #timeouts: Timeouts;
  readonly #secrets: string[];
  readonly #factory: Factory;
  #root: PostgresQueueBackend | undefined;
  #ready: Promise<PostgresQueueBackend> | undefined;

  constructor(options: PostgresDatastoreOptions) {
    this.#factory = postgresBackend();
    this.#config = options.config;
    this.#timeouts = options.timeouts;
    const c = options.config;
    const url = c.connectionString ? new URL(c.connectionString) : undefined;
    const host = url?.hostname || c.host || "127.0.0.1";
    const port = url?.port || c.port || 5432;
    const database = url?.pathname.replace(/^\//, "") || c.database || "postgres";
    this.where = `${host}:${port}/${database} (schema ${c.schema ?? "bullmq"})`;
    this.#secrets = [c.password, url?.password && decodeURIComponent(url.password)].filter(
      (s): s is string => typeof s === "string" && s !== "",
    );
  }

  async connect(): Promise<void> {
    await this.#connect();
  }

  #connect(): Promise<PostgresQueueBackend> {
    this.#ready ??= (async () => {
      const root = this.#factory("taskport", { connection: this.#config });
      root.on("error", () => {});
      try {
        // BullMQ checks the server version and that its schema is migrated (or migrates, with `migrate`).
        await connectWithin("bullmq", "connect", this.where, this.#timeouts.connectMs, root.waitUntilReady(), () => {
          root.close().catch(() => {});
        });
      } catch (error) {
        root.close().catch(() => {});
        this.#ready = undefined;
        throw this.explain(error);
      }
      this.#root = root;
      return root;
    })();
    return this.#ready;
  }

  get #connected(): PostgresQueueBackend {
    if (!this.#root) throw new TaskportError("bullmq", "not connected to PostgreSQL yet.");
    return this.#root;
  }

  async #query<Row>(text: string, params: unknown[]): Promise<Row[]> {
    const root = await this.#connect();
    return (await root.connection.pool.query(text, params)).rows as Row[];
  }

  queue(name: string): Queue {
    const root = this.#connected;
    // Siblings share the root's pool; closing one leaves it open.
    const sibling: Factory = (queue) => root.forQueue(queue) as PostgresQueueBackend;
    return new bullmq.Queue(name, { connection: this.#config }, sibling) as unknown as Queue;
  }

  worker(queue: string, processor: Processor, options: Omit<WorkerOptions, "connection">): Worker {
    const opts = { ...options, connection: this.#config } as unknown as WorkerOptions<PostgresPoolConfig>;
    return new bullmq.Worker(queue, processor, opts, this.#factory) as unknown as Worker;
  }

  async cancelled(queue: string, id: string): Promise<JobInfo | null> {
    const rows = await this.#query<{ value: string }>("SELECT value FROM meta WHERE queue = $1 AND field = $2", [
      queue,
      CANCELLED_FIELD + id,
    ]);
    return rows[0] ? (JSON.parse(rows[0].value) as JobInfo) : null;
  }

  async recordCancelled(queue: string, info: JobInfo): Promise<void> {
    // BullMQ keeps no record of a removed job; taskport's lives in the queue's meta rows, which
    // BullMQ's obliterate deletes with the queue.
    await this.#query(
      "INSERT INTO meta (queue, field, value) VALUES ($1, $2, $3) ON CONFLICT (queue, field) DO UPDATE SET value = EXCLUDED.value",
      [queue, CANCELLED_FIELD + info.id, JSON.stringify(info)],
    );
  }

  async cancelledCount(queue: string): Promise<number> {
    const rows = await this.#query<{ n: number }>("SELECT count(*)::int AS n FROM meta WHERE queue = $1 AND starts_with(field, $2)", [
      queue,
      CANCELLED_FIELD,
    ]);
    return rows[0]?.n ?? 0;
  }

  async cancelledJobs(queue: string): Promise<JobInfo[]> {
    const rows = await this.#query<{ value: string }>("SELECT value FROM meta WHERE queue = $1 AND starts_with(field, $2)", [
      queue,
      CANCELLED_FIELD,
    ]);
    return rows.map((row) => JSON.parse(row.value) as JobInfo);
  }

  async listQueues(): Promise<string[]> {
    const rows = await this.#query<{ queue: string }>("SELECT queue FROM meta UNION SELECT DISTINCT queue FROM job", []);
    return rows.map((row) => row.queue);
  }

  async enqueueTimes(queue: string, ids: readonly string[]): Promise<Map<string, EnqueueTime>> {
    const rows = await this.#query<{ id: string; added_at_ms: string; delay_ms: string }>(
      "SELECT id, added_at_ms, delay_ms FROM job WHERE queue = $1 AND id = ANY($2::text[])",
      [queue, ids],
    );
    return new Map(rows.map((row) => [row.id, { timestamp: Number(row.added_at_ms), delay: Number(row.delay_ms) }]));
  }

  async resetAttempts(queue: string, id: string): Promise<void> {
    await this.#query("UPDATE job SET attempts_made = 0, attempts_started = 0, stalled_count = 0 WHERE queue = $1 AND id = $2", [
      queue,
      id,
    ]);
  }

  async problems(): Promise<CheckProblem[]> {
    await this.#connect();
    return [];
  }

  explain(error: unknown): TaskportError {
    return explainPostgresError(error, this.where, this.#config.schema ?? "bullmq", this.#secrets);
  }

  dropConnection(): void {
    // node-postgres replaces a pool connection that errors; there is no one client to drop.
  }

  async close(): Promise<void> {
    const root = await this.#ready?.catch(() => undefined);
    this.#root = undefined;
    await root?.close();
  }

  forceClose(): void {
    this.#root?.close().catch(() => {});
  }
}
