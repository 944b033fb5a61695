import { createHash } from "node:crypto";
import type { SerializedError } from "@taskport/core";
import type { Job, PgBoss } from "pg-boss";
import type { PgBossConsumer } from "./consumer.ts";
import { DEDUP_INDEX, dedupIndexSql, errorOutputJson } from "./job-data.ts";
import type { Executor } from "./transaction.ts";

/** A settled success, completed with the others of its batch. */
export interface CompletionRow {
  readonly id: string;
  readonly retryCount: number;
  readonly outputJson: string;
}

interface ListenHandle {
  close(): Promise<void>;
}
type Listen = (channel: string, onNotification: (payload: string) => void, onReconnect: () => void) => Promise<ListenHandle>;

/**
 * The started pg-boss instance and the few statements taskport runs beside pg-boss's own API:
 * batch completion with per-job output, retry after a delay computed by core, terminal failure,
 * and putting back jobs fetched during a stop. They touch only the columns pg-boss's own settle
 * statements touch, fenced the same way (state `active` and the fetched `retry_count`).
 */
export class Engine {
  readonly boss: PgBoss;
  readonly schema: string;
  readonly batchSize: number;
  readonly heartbeatMs: number;
  readonly #db: Executor;
  readonly #pollingIntervalMs: number;
  readonly #consumers = new Set<PgBossConsumer>();
  readonly #channel: string;
  #listener: Promise<ListenHandle | undefined> | undefined;
  #listening = false;

  constructor(boss: PgBoss, schema: string, options: { batchSize: number; heartbeatSeconds: number; pollingIntervalMs: number }) {
    this.boss = boss;
    this.schema = schema;
    this.batchSize = options.batchSize;
    this.heartbeatMs = (options.heartbeatSeconds * 1000) / 2;
    this.#pollingIntervalMs = options.pollingIntervalMs;
    this.#db = boss.getDb() as Executor;
    // pg-boss's own channel name (plans.notifyChannelSql): LISTEN cannot take an expression.
    this.#channel = `pgboss_${createHash("sha224").update(schema).digest("hex").slice(0, 24)}`;
  }

  /** pg-boss's executor, for the statements taskport runs beside its API (inspection.ts). */
  get db(): Executor {
    return this.#db;
  }

  /** pg-boss's NOTIFY channel, which wakes taskport's workers. */
  get channel(): string {
    return this.#channel;
  }

  /** How long an idle loop sleeps at most: NOTIFY wakes it sooner; without a listener, poll faster. */
  get backstopMs(): number {
    return this.#listening ? this.#pollingIntervalMs : Math.min(this.#pollingIntervalMs, 500);
  }

  attach(consumer: PgBossConsumer, onError: (error: Error) => void): void {
    this.#consumers.add(consumer);
    this.#listener ??= this.#listen().catch((error: unknown) => {
      onError(error as Error);
      return undefined;
    });
  }

  detach(consumer: PgBossConsumer): void {
    this.#consumers.delete(consumer);
  }

  async #listen(): Promise<ListenHandle | undefined> {
    const listen = (this.#db as { listen?: Listen }).listen;
    if (typeof listen !== "function") return undefined; // an executor without LISTEN: poll
    const handle = await listen.call(
      this.#db,
      this.#channel,
      (queue) => this.wake(queue),
      () => this.wake(),
    );
    this.#listening = true;
    return handle;
  }

  /** Wake consumers of `queue` (or all): a job may be ready. */
  wake(queue?: string): void {
    for (const consumer of this.#consumers) if (queue === undefined || consumer.queues.includes(queue)) consumer.notify();
  }

  async close(): Promise<void> {
    const handle = await this.#listener;
    this.#listener = undefined;
    this.#listening = false;
    await handle?.close().catch(() => {});
  }

  /** Create taskport's deduplication index once per schema (a no-op when it exists). */
  async ensureDedupIndex(): Promise<void> {
    const exists = async () =>
      (
        await this.#db.executeSql("SELECT 1 FROM pg_indexes WHERE schemaname = $1 AND indexname = $2", [
          this.schema.toLowerCase(),
          DEDUP_INDEX,
        ])
      ).rows.length > 0;
    if (await exists()) return;
    try {
      await this.#db.executeSql(dedupIndexSql(this.schema));
    } catch (error) {
      // Another process created it at the same moment.
      if (!(await exists())) throw error;
    }
  }

  fetch(queue: string, batchSize: number): Promise<Job<unknown>[]> {
    return this.boss.fetch(queue, { batchSize });
  }

  touch(queue: string, ids: string[]): Promise<unknown> {
    return this.boss.touch(queue, ids);
  }

  /** `keepSeconds`: how long pg-boss keeps them now they have finished (its `deletion_seconds`). */
  async completeJobs(queue: string, rows: readonly CompletionRow[], keepSeconds?: number): Promise<void> {
    const input = `[${rows.map((r) => `{"id":"${r.id}","retry_count":${r.retryCount},"output":${r.outputJson}}`).join(",")}]`;
    await this.#db.executeSql(
      `WITH input AS (SELECT * FROM json_to_recordset($2::text::json) AS x (id uuid, retry_count int, output jsonb))
       UPDATE ${this.schema}.job j
       SET completed_on = ${this.schema}.job_now(), state = 'completed', output = i.output,
         deletion_seconds = COALESCE($3::int, j.deletion_seconds)
       FROM input i
       WHERE j.name = $1 AND j.id = i.id AND j.state = 'active' AND j.retry_count = i.retry_count`,
      [queue, input, keepSeconds ?? null],
    );
  }

  /**
   * Fail one attempt. With `retryInMs` the job goes back to `retry`, due after that delay (core's
   * backoff, not pg-boss's); the retry limit is raised if crashes used it up, since core decided.
   * Without it the job fails for good and stays in the queue as a dead letter, for `keepSeconds`
   * when given (pg-boss's `deletion_seconds`).
   */
  async failJob(
    queue: string,
    id: string,
    retryCount: number,
    error: SerializedError,
    retryInMs: number | undefined,
    keepSeconds?: number,
  ): Promise<void> {
    const output = errorOutputJson(error);
    if (retryInMs === undefined) {
      await this.#db.executeSql(
        `UPDATE ${this.schema}.job SET state = 'failed', completed_on = ${this.schema}.job_now(), output = $4::jsonb,
           deletion_seconds = COALESCE($5::int, deletion_seconds)
         WHERE name = $1 AND id = $2 AND state = 'active' AND retry_count = $3`,
        [queue, id, retryCount, output, keepSeconds ?? null],
      );
      return;
    }
    await this.#db.executeSql(
      `WITH retried AS (
         UPDATE ${this.schema}.job
         SET state = 'retry', output = $4::jsonb, heartbeat_on = NULL,
           start_after = ${this.schema}.job_now() + $5::float8 * interval '1 millisecond',
           retry_limit = GREATEST(retry_limit, retry_count + 1)
         WHERE name = $1 AND id = $2 AND state = 'active' AND retry_count = $3
         RETURNING 1)
       SELECT pg_notify('${this.#channel}', $1) FROM retried`,
      [queue, id, retryCount, output, retryInMs],
    );
    this.wake(queue);
  }

  /**
   * Put back jobs fetched while the consumer stopped, as if never claimed: a first claim leaves
   * `retry_count` and clears `started_on`; a later claim had raised `retry_count`, so lower it.
   */
  async release(queue: string, jobs: readonly Job<unknown>[]): Promise<void> {
    if (jobs.length === 0) return;
    await this.#db.executeSql(
      `WITH input AS (SELECT * FROM json_to_recordset($2::text::json) AS x (id uuid, retry_count int))
       UPDATE ${this.schema}.job j
       SET state = CASE WHEN j.retry_count = 0 THEN 'created'::${this.schema}.job_state ELSE 'retry'::${this.schema}.job_state END,
         started_on = CASE WHEN j.retry_count = 0 THEN NULL ELSE j.started_on END,
         retry_count = GREATEST(j.retry_count - 1, 0),
         heartbeat_on = NULL
       FROM input i
       WHERE j.name = $1 AND j.id = i.id AND j.state = 'active' AND j.retry_count = i.retry_count`,
      [queue, JSON.stringify(jobs.map((j) => ({ id: j.id, retry_count: j.retryCount })))],
    );
    this.wake(queue);
  }

  /** Milliseconds until the next queued job of `queues` is due; undefined when none waits. */
  async nextDueInMs(queues: readonly string[]): Promise<number | undefined> {
    const { rows } = await this.#db.executeSql(
      `SELECT extract(epoch FROM (min(start_after) - ${this.schema}.job_now())) * 1000 AS ms
       FROM ${this.schema}.job WHERE name = ANY($1::text[]) AND state < 'active'`,
      [queues],
    );
    const ms = (rows[0] as { ms: string | number | null } | undefined)?.ms;
    return ms === null || ms === undefined ? undefined : Number(ms);
  }

  /** Tell consumers elsewhere that delayed jobs were added (pg-boss notifies only for jobs due now). */
  async notifyDelayed(queue: string, db: Executor | undefined): Promise<void> {
    await (db ?? this.#db).executeSql(`SELECT pg_notify('${this.#channel}', $1)`, [queue]);
  }

  async existingIds(queue: string, ids: readonly string[]): Promise<Set<string>> {
    const { rows } = await this.#db.executeSql(`SELECT id FROM ${this.schema}.job WHERE name = $1 AND id = ANY($2::uuid[])`, [queue, ids]);
    return new Set((rows as { id: string }[]).map((r) => r.id));
  }

  /** The pending or running job holding `singletonKey` in `queue`, if any. */
  async holderOf(queue: string, singletonKey: string, db: Executor | undefined): Promise<string | undefined> {
    const { rows } = await (db ?? this.#db).executeSql(
      `SELECT id FROM ${this.schema}.job WHERE name = $1 AND singleton_key = $2 AND state <= 'active' LIMIT 1`,
      [queue, singletonKey],
    );
    return (rows[0] as { id: string } | undefined)?.id;
  }

  async deadLetters(queue: string, limit: number): Promise<Record<string, unknown>[]> {
    const { rows } = await this.#db.executeSql(
      `SELECT id, data, output, retry_count, started_on, created_on, completed_on, start_after FROM ${this.schema}.job
       WHERE name = $1 AND state = 'failed'
         AND (deletion_seconds = 0 OR completed_on + deletion_seconds * interval '1s' > ${this.schema}.job_now())
       ORDER BY completed_on DESC LIMIT $2`,
      [queue, limit],
    );
    return rows as Record<string, unknown>[];
  }
}
