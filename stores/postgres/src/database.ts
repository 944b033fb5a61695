import { TaskportError } from "@taskport/core";
import pg from "pg";
import { explain, isRetryable, type Whereabouts } from "./pg-errors.ts";
import { ORIGIN } from "./url-options.ts";

/** One statement as `pg` takes it. */
export interface StatementConfig {
  readonly text: string;
  readonly values?: unknown[];
  /** A prepared statement's name: parsed and planned once per connection. */
  readonly name?: string;
  /** pg's client-side deadline for this statement, in ms. */
  readonly query_timeout?: number;
}

/** A connection of the pool, as `pool.connect()` gives it. */
export interface PgClientLike {
  query(config: StatementConfig): Promise<{ rows: unknown[]; rowCount: number | null }>;
  release(error?: Error | boolean): void;
}

/**
 * The subset of pg's `Pool` the store uses, so that an application can hand over its own pool
 * (`new PostgresStore({ pool })`) without this package's types depending on `@types/pg`.
 */
export interface PgPoolLike {
  query(config: StatementConfig): Promise<{ rows: unknown[]; rowCount: number | null }>;
  connect(): Promise<PgClientLike>;
}

/** A connection held for LISTEN: pg's client events are all it needs beyond queries. */
export interface ListenConnection {
  readonly client: pg.ClientBase;
  /** Give the connection back (destroying it, since it was listening). */
  release(): Promise<void>;
}

export interface DatabaseOptions {
  readonly connectionString?: string;
  readonly pool?: PgPoolLike;
  readonly max: number;
  readonly queryTimeoutMs: number;
  readonly connectTimeoutMs: number;
  readonly applicationName: string;
}

/** Deadlocks and serialization failures roll the whole statement back: it is tried again this often. */
const RETRIES = 3;

/**
 * The store's way to PostgreSQL: its own pool (created on first use) or the application's, every
 * statement under a deadline, every error named and without a password.
 */
export class Database {
  readonly #options: DatabaseOptions;
  readonly #at: Whereabouts;
  #pool: PgPoolLike | undefined;
  #ownPool: pg.Pool | undefined;
  #closing: pg.Pool | undefined;
  #closed = false;

  constructor(options: DatabaseOptions, at: Whereabouts) {
    this.#options = options;
    this.#at = at;
  }

  get whereabouts(): Whereabouts {
    return this.#at;
  }

  /** Run one statement (a prepared one when `name` is given) and return its rows. */
  async query<Row>(text: string, values: unknown[] = [], name?: string): Promise<Row[]> {
    const pool = this.#usePool();
    for (let attempt = 1; ; attempt++) {
      try {
        const config: StatementConfig = { text, values, query_timeout: this.#clientDeadline, ...(name ? { name } : {}) };
        return (await pool.query(config)).rows as Row[];
      } catch (error) {
        if (attempt < RETRIES && isRetryable(error)) continue;
        throw explain(error, this.#at);
      }
    }
  }

  /** Run `work` in one transaction on one connection. */
  async transaction<T>(work: (query: (text: string, values?: unknown[]) => Promise<unknown[]>) => Promise<T>): Promise<T> {
    const pool = this.#usePool();
    let client: PgClientLike;
    try {
      client = await pool.connect();
    } catch (error) {
      throw explain(error, this.#at);
    }
    const query = async (text: string, values: unknown[] = []) =>
      (await client.query({ text, values, query_timeout: this.#clientDeadline })).rows;
    try {
      await query("BEGIN");
      const out = await work(query);
      await query("COMMIT");
      client.release();
      return out;
    } catch (error) {
      await client.query({ text: "ROLLBACK" }).catch(() => {});
      client.release(true);
      throw explain(error, this.#at);
    }
  }

  /** A connection of its own for LISTEN: never one of the pool's, whose connections come and go. */
  async listenConnection(): Promise<ListenConnection> {
    if (this.#closed) throw closedError();
    try {
      if (this.#options.pool) {
        const client = (await this.#options.pool.connect()) as unknown as pg.PoolClient;
        return {
          client,
          release: async () => {
            client.release(true);
          },
        };
      }
      const client = new pg.Client({
        connectionString: this.#options.connectionString,
        application_name: this.#options.applicationName,
        connectionTimeoutMillis: this.#options.connectTimeoutMs,
        keepAlive: true,
      });
      // Errors after connecting are reported through the listener's own error handling.
      client.on("error", () => {});
      try {
        await client.connect();
      } catch (error) {
        await client.end().catch(() => {});
        throw error;
      }
      return { client, release: () => client.end().catch(() => {}) };
    } catch (error) {
      throw explain(error, this.#at);
    }
  }

  /** pg's own deadline sits a second past the server's, so the server's clean cancel comes first. */
  get #clientDeadline(): number {
    return this.#options.pool ? this.#options.queryTimeoutMs : this.#options.queryTimeoutMs + 1_000;
  }

  #usePool(): PgPoolLike {
    if (this.#closed) throw closedError();
    if (this.#pool) return this.#pool;
    if (this.#options.pool) {
      this.#pool = this.#options.pool;
      return this.#pool;
    }
    const pool = new pg.Pool({
      connectionString: this.#options.connectionString,
      max: this.#options.max,
      application_name: this.#options.applicationName,
      connectionTimeoutMillis: this.#options.connectTimeoutMs,
      statement_timeout: this.#options.queryTimeoutMs,
      keepAlive: true,
    });
    // An idle connection that dies (a server restart) is dropped and replaced by the pool; without
    // a listener its error would end the process.
    pool.on("error", () => {});
    this.#ownPool = pool;
    this.#pool = pool as unknown as PgPoolLike;
    return this.#pool;
  }

  /** Close the pool this store opened; an application's pool is left as it is. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    const pool = this.#ownPool;
    this.#closing = pool;
    this.#ownPool = undefined;
    await pool?.end().catch(() => {});
  }

  /** Destroy the sockets of the pool this store opened, for a close that cannot wait (pg keeps them in `_clients`). */
  destroy(): void {
    const pool = (this.#ownPool ?? this.#closing) as { _clients?: { connection?: { stream?: { destroy(): void } } }[] } | undefined;
    for (const client of pool?._clients ?? []) client.connection?.stream?.destroy();
  }
}

function closedError(): TaskportError {
  return new TaskportError(ORIGIN, "this store was closed; create a new one.");
}
