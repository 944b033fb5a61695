import { randomUUID } from "node:crypto";
import {
  type CancelOutcome,
  type CheckProblem,
  closeWithin,
  type JobChange,
  type JobInfo,
  type JobListOptions,
  type JobOutcome,
  type JobPage,
  type JobStart,
  type JobStore,
  type NewJob,
  type QueueStats,
  type RecordReceipt,
  type Retention,
  redactUrl,
  resolveTimeouts,
  type StartDecision,
  TaskportError,
  type Timeouts,
} from "@taskport/core";
import { inRounds } from "./batch-rounds.ts";
import { ChangeListener, channelOf } from "./change-listener.ts";
import { Database, type PgPoolLike } from "./database.ts";
import { type CountRow, cursorSeq, pageOf, statsOf, storedStatuses } from "./inspection.ts";
import { isJobId, type JobRow, toInfo } from "./job-rows.ts";
import type { Whereabouts } from "./pg-errors.ts";
import { planRecord, type RecordRow, receiptsOf } from "./record-batch.ts";
import { ensureSchema } from "./schema.ts";
import { checkSchema } from "./schema-check.ts";
import { type Statements, statements } from "./statements.ts";
import { ORIGIN, parseUrlOptions, validateSchemaName } from "./url-options.ts";

export interface PostgresStoreOptions {
  /** `postgres://user:password@host:5432/database?schema=taskport`. One of `url` or `pool`. */
  readonly url?: string | URL;
  /**
   * The application's own `pg` Pool. The store runs its statements on it and takes one of its
   * connections for LISTEN while something watches; it never ends the pool. Give the pool a
   * `connectionTimeoutMillis`: the store's deadline covers its statements, not the wait for a connection.
   */
  readonly pool?: PgPoolLike;
  /** The schema of the store's tables, created on first use. Default `taskport` (or the URL's `schema`). */
  readonly schema?: string;
  /** Connections of the pool the store opens. Default 10. */
  readonly max?: number;
  /**
   * Bounds on calls to PostgreSQL, `{ connectMs, operationMs, closeMs }`, default 10 s, 30 s, 10 s:
   * pg's `connectionTimeoutMillis` (connectMs); every statement's deadline, the server's
   * `statement_timeout` and pg's own `query_timeout` (operationMs); `close()` destroys the
   * connections still open after closeMs and returns.
   */
  readonly timeouts?: Partial<Timeouts>;
  /** The older name of `timeouts.operationMs`, which wins when both are given. */
  readonly queryTimeoutMs?: number;
  /** The older name of `timeouts.connectMs`, which wins when both are given. */
  readonly connectTimeoutMs?: number;
  /** `application_name` of the store's connections, to find them in `pg_stat_activity`. Default `taskport-store`. */
  readonly applicationName?: string;
}

/** Rows of each kind `sweep` deletes per statement, and statements per call at most. */
const SWEEP_CHUNK = 1_000;
const SWEEP_ROUNDS = 20;

/**
 * The job store on PostgreSQL: one `jobs` table in its own schema, every write one statement per
 * batch, changes announced with NOTIFY in the transaction that makes them. Nothing connects until
 * the first call that needs the database.
 */
export class PostgresStore implements JobStore {
  readonly name = ORIGIN;
  readonly schema: string;
  readonly #db: Database;
  readonly #sql: Statements;
  readonly #channel: string;
  readonly #changes: ChangeListener;
  readonly #closeMs: number;
  #ready: Promise<void> | undefined;

  constructor(options: PostgresStoreOptions) {
    if ((options.url === undefined) === (options.pool === undefined)) {
      throw new TaskportError(
        ORIGIN,
        "needs exactly one of url or pool: new PostgresStore({ url: 'postgres://…?schema=taskport' }) or new PostgresStore({ pool }).",
      );
    }
    const fromUrl = options.url === undefined ? undefined : parseUrlOptions(new URL(String(options.url)));
    this.schema = validateSchemaName(options.schema ?? fromUrl?.schema ?? "taskport");
    const given = options.timeouts ?? {};
    const url = fromUrl?.timeouts ?? {};
    const timeouts = resolveTimeouts(
      {
        ...url,
        ...(fromUrl?.queryTimeoutMs !== undefined && url.operationMs === undefined ? { operationMs: fromUrl.queryTimeoutMs } : {}),
        ...(options.connectTimeoutMs !== undefined ? { connectMs: options.connectTimeoutMs } : {}),
        ...(options.queryTimeoutMs !== undefined ? { operationMs: options.queryTimeoutMs } : {}),
        ...given,
      },
      ORIGIN,
    );
    this.#closeMs = timeouts.closeMs;
    const queryTimeoutMs = timeouts.operationMs;
    const at: Whereabouts = {
      where: options.url === undefined ? "the given pool" : redactUrl(String(options.url)),
      schema: this.schema,
      secrets: options.url === undefined ? [] : passwordsOf(new URL(String(options.url))),
      queryTimeoutMs,
    };
    this.#db = new Database(
      {
        ...(fromUrl ? { connectionString: fromUrl.connectionString } : {}),
        ...(options.pool ? { pool: options.pool } : {}),
        max: options.max ?? fromUrl?.max ?? 10,
        queryTimeoutMs,
        connectTimeoutMs: timeouts.connectMs,
        applicationName: options.applicationName ?? "taskport-store",
      },
      at,
    );
    this.#sql = statements(this.schema);
    this.#channel = channelOf(this.schema);
    this.#changes = new ChangeListener(this.#db, this.schema, async () =>
      (await this.#run<{ id: string }>("cancelling", [])).map((row) => row.id),
    );
  }

  /** The schema exists in its current version: created or upgraded once, on first use. */
  #prepare(): Promise<void> {
    this.#ready ??= ensureSchema(this.#db, this.schema).catch((error: unknown) => {
      this.#ready = undefined;
      throw error;
    });
    return this.#ready;
  }

  async #run<Row>(statement: keyof Statements, values: unknown[]): Promise<Row[]> {
    await this.#prepare();
    return this.#db.query<Row>(this.#sql[statement], values, `taskport.${this.schema}.${statement}`);
  }

  async record(jobs: readonly NewJob[], claimMs: number): Promise<RecordReceipt[]> {
    if (jobs.length === 0) return [];
    const plan = planRecord(jobs);
    const { fresh } = plan;
    const now = Date.now();
    const rows = await this.#run<RecordRow>("record", [
      fresh.map((job) => job.id),
      fresh.map((job) => job.name),
      fresh.map((job) => job.queue),
      fresh.map((job) => job.payloadJson),
      fresh.map((job) => (job.runAt !== undefined && job.runAt > now ? "scheduled" : "queued")),
      fresh.map((job) => job.maxAttempts),
      fresh.map((job) => job.deduplicationKey ?? null),
      fresh.map((job) => job.runAt ?? null),
      fresh.map((job) => job.enqueuedAt),
      claimMs,
      // This statement's token: tells its own records from those it found.
      randomUUID(),
    ]);
    return receiptsOf(jobs, plan, rows);
  }

  async confirm(ids: readonly string[]): Promise<void> {
    if (ids.length > 0) await this.#run("confirm", [ids]);
  }

  async forget(ids: readonly string[]): Promise<void> {
    if (ids.length > 0) await this.#run("forget", [ids]);
  }

  async begin(starts: readonly JobStart[]): Promise<StartDecision[]> {
    const decisions: StartDecision[] = new Array(starts.length);
    const known: number[] = [];
    for (const [i, start] of starts.entries()) {
      // Not a job core enqueued, so it cannot have a record: run it, counting as the engine does.
      if (isJobId(start.id)) known.push(i);
      else decisions[i] = { run: true, attempt: start.attempt };
    }
    // A job delivered twice in one batch starts twice, one statement after the other.
    await inRounds(
      known,
      (i) => (starts[i] as JobStart).id,
      async (round) => {
        const batch = round.map((i) => starts[i] as JobStart);
        const rows = await this.#run<JobRow>("begin", [
          batch.map((s) => s.id),
          batch.map((s) => s.name),
          batch.map((s) => s.queue),
          batch.map((s) => s.attempt),
          batch.map((s) => s.maxAttempts),
          this.#channel,
        ]);
        const byId = new Map(rows.map((row) => [row.id, row]));
        for (const i of round) {
          const row = byId.get((starts[i] as JobStart).id);
          if (!row) throw new TaskportError(ORIGIN, `no decision for job ${(starts[i] as JobStart).id}; this is a bug.`);
          decisions[i] = row.status === "running" ? { run: true, attempt: row.attempt } : { run: false, info: toInfo(row) };
        }
      },
    );
    return decisions;
  }

  async settle(outcomes: readonly JobOutcome[]): Promise<void> {
    const known = outcomes.filter((outcome) => isJobId(outcome.id));
    await inRounds(
      known,
      (outcome) => outcome.id,
      async (round) => {
        await this.#run("settle", [
          round.map((o) => o.id),
          round.map((o) => o.status),
          round.map((o) => (o.status === "succeeded" ? o.resultJson : null)),
          round.map((o) => (o.status === "failed" ? JSON.stringify(o.error) : null)),
          round.map((o) => (o.status === "failed" ? (o.retryAt ?? null) : null)),
          this.#channel,
        ]);
      },
    );
  }

  async progress(id: string, valueJson: string): Promise<void> {
    if (isJobId(id)) await this.#run("progress", [id, valueJson]);
  }

  async get(id: string): Promise<JobInfo | null> {
    if (!isJobId(id)) return null;
    const [row] = await this.#run<JobRow & { lapsed: boolean | null }>("get", [id]);
    return !row || row.lapsed ? null : toInfo(row);
  }

  async cancel(id: string): Promise<CancelOutcome> {
    if (!isJobId(id)) return false;
    const [row] = await this.#run<{ status: string }>("cancel", [id, this.#channel]);
    if (!row) return false;
    return row.status === "running" ? "requested" : "cancelled";
  }

  async watch(listener: (change: JobChange) => void): Promise<() => Promise<void>> {
    await this.#prepare();
    return this.#changes.add(listener);
  }

  async sweep(retention: Retention): Promise<number> {
    let removed = 0;
    for (let round = 0; round < SWEEP_ROUNDS; round++) {
      const [row] = await this.#run<{ deleted: number }>("sweep", [retention.succeededMs, retention.failedMs, SWEEP_CHUNK]);
      const deleted = row?.deleted ?? 0;
      removed += deleted;
      if (deleted < SWEEP_CHUNK) break;
    }
    return removed;
  }

  async stats(queues?: readonly string[]): Promise<QueueStats[]> {
    const rows = queues ? await this.#run<CountRow>("stats", [queues]) : await this.#run<CountRow>("statsAll", []);
    return statsOf(rows, queues, Date.now());
  }

  async listJobs(queue: string, options: JobListOptions): Promise<JobPage> {
    const before = cursorSeq(options.cursor);
    const rows = await this.#run<JobRow & { seq: string }>("listJobs", [
      queue,
      storedStatuses(options.status),
      options.status ?? null,
      before,
      options.limit + 1,
    ]);
    return pageOf(rows, options.limit);
  }

  async check(): Promise<CheckProblem[]> {
    return checkSchema(this.#db, this.schema);
  }

  async close(): Promise<void> {
    // A server that never answers would hold the pool's end: past closeMs the connections are destroyed.
    await closeWithin(
      this.#closeMs,
      async () => {
        await this.#changes.close();
        await this.#db.close();
      },
      () => this.#db.destroy(),
    );
  }
}

/** Build a store from a `postgres://` URL: what core calls for `store: "postgres://…"`. */
export function createStore(url: URL): PostgresStore {
  return new PostgresStore({ url });
}

/** A URL's password as written and decoded: drivers may echo either form. */
function passwordsOf(url: URL): string[] {
  if (!url.password) return [];
  let decoded = url.password;
  try {
    decoded = decodeURIComponent(url.password);
  } catch {
    // not percent-encoded
  }
  return [...new Set([url.password, decoded])];
}
