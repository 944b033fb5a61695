import {
  type CheckProblem,
  ConnectionError,
  closeWithin,
  type NewJob,
  type Outbox,
  type OutboxClaim,
  redactSecrets,
  redactUrl,
  resolveTimeouts,
  TaskportError,
  type Timeouts,
  toSqlExecutor,
} from "@taskport/core";
import pg from "pg";
import { CommitListener } from "./commit-listener.ts";
import { explain, explainInsert, type Whereabouts } from "./pg-errors.ts";
import { ensureSchema, quoted } from "./schema.ts";
import { channelOf, encodeJobs, jobOf, type OutboxRow, type Statements, statementsFor } from "./statements.ts";
import { ORIGIN, parseUrlOptions, validateSchemaName } from "./url-options.ts";

export interface PostgresOutboxOptions {
  /** `postgres://user:pass@host:5432/db`: the database your transactions run on. */
  readonly connectionString: string;
  /** Schema of the outbox's tables, created on first use. Default `taskport`. */
  readonly schema?: string;
  /** Connections of the outbox's own pool (claims, look-ups; LISTEN has one more). Default 4. */
  readonly max?: number;
  /** `application_name` of its connections. Default `taskport-outbox`. */
  readonly applicationName?: string;
  /**
   * Bounds on calls to PostgreSQL on the outbox's own connections, `{ connectMs, operationMs,
   * closeMs }`, default 10 s, 30 s, 10 s: pg's `connectionTimeoutMillis`; each statement's
   * `statement_timeout` and pg's own `query_timeout` a second later (past it a `DeadlineError`);
   * `close()` destroys what has not closed after closeMs. The insert runs on your transaction.
   */
  readonly timeouts?: Partial<Timeouts>;
}

/**
 * A relay that stops answering while it holds a claim (a frozen process, a hung engine call) loses
 * it after this long: the server ends its session and the rows go to another relay.
 */
const CLAIM_IDLE_LIMIT_MS = 60_000;

/**
 * The outbox on PostgreSQL: one table, `<schema>.outbox`, written inside the application's own
 * transactions and emptied by relays. Connects on first use; the table is created then, idempotently.
 */
export class PostgresOutbox implements Outbox {
  readonly name = ORIGIN;
  readonly schema: string;
  readonly #options: PostgresOutboxOptions;
  readonly #at: Whereabouts;
  readonly #statements: Statements;
  readonly #channel: string;
  readonly #timeouts: Timeouts;
  #pool: pg.Pool | undefined;
  #ready: Promise<void> | undefined;
  #listener: CommitListener | undefined;
  #closed = false;

  constructor(options: PostgresOutboxOptions) {
    this.#options = options;
    this.#timeouts = resolveTimeouts(options.timeouts, ORIGIN);
    this.schema = validateSchemaName(options.schema ?? "taskport");
    this.#statements = statementsFor(quoted(this.schema));
    this.#channel = channelOf(this.schema);
    this.#at = {
      where: redactUrl(options.connectionString),
      schema: this.schema,
      secrets: secretsOf(options.connectionString),
      operationMs: this.#timeouts.operationMs,
    };
  }

  async insert(jobs: readonly NewJob[], target: string, transaction: unknown): Promise<void> {
    const executor = toSqlExecutor(transaction, ORIGIN);
    if (jobs.length === 0) return;
    await this.#ensureSchema();
    try {
      await executor.executeSql(this.#statements.insert, [encodeJobs(jobs), target, this.#channel]);
    } catch (error) {
      throw explainInsert(error, this.#at);
    }
  }

  async claim(target: string, limit: number): Promise<OutboxClaim | null> {
    await this.#ensureSchema();
    let client: pg.PoolClient;
    try {
      client = await this.#usePool().connect();
    } catch (error) {
      throw explain(error, this.#at);
    }
    let rows: OutboxRow[];
    try {
      // BEGIN and the SELECT in one round trip: the relay's path from a commit to the engine is short.
      const results = (await client.query(
        this.#statements.claim(client.escapeLiteral(target), limit),
      )) as unknown as pg.QueryResult<OutboxRow>[];
      rows = results[2]?.rows ?? [];
      if (rows.length === 0) {
        await client.query("COMMIT");
        client.release();
        return null;
      }
    } catch (error) {
      client.release(true);
      throw explain(error, this.#at);
    }
    return new PostgresClaim(client, rows, this.#statements.remove, this.#at);
  }

  async get(id: string, target: string): Promise<NewJob | null> {
    await this.#ensureSchema();
    try {
      const { rows } = await this.#usePool().query<OutboxRow>(this.#statements.get, [id, target]);
      return rows[0] ? jobOf(rows[0]) : null;
    } catch (error) {
      throw explain(error, this.#at);
    }
  }

  async listen(target: string, wake: () => void, onError: (error: Error) => void): Promise<() => Promise<void>> {
    await this.#ensureSchema();
    this.#listener ??= new CommitListener(
      () => this.#listenConnection(),
      this.#channel,
      (error) =>
        new ConnectionError(
          ORIGIN,
          `the LISTEN connection to ${this.#at.where} was lost (${redactSecrets(error?.message ?? "closed", this.#at.secrets)}); listening again, polling meanwhile.`,
        ),
    );
    try {
      return await this.#listener.add(target, wake, onError);
    } catch (error) {
      throw explain(error, this.#at);
    }
  }

  async check(): Promise<CheckProblem[]> {
    try {
      await this.#ensureSchema();
      return [];
    } catch (error) {
      return [{ message: error instanceof TaskportError ? error.message : explain(error, this.#at).message }];
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    const listener = this.#listener;
    const pool = this.#pool;
    this.#listener = undefined;
    this.#pool = undefined;
    this.#ready = undefined;
    // A server that never answers would hold the pool's end: past closeMs its sockets are destroyed.
    await closeWithin(
      this.#timeouts.closeMs,
      async () => {
        await listener?.close();
        await pool?.end().catch(() => {});
      },
      () => {
        const clients = (pool as unknown as { _clients?: { connection?: { stream?: { destroy(): void } } }[] } | undefined)?._clients;
        for (const client of clients ?? []) client.connection?.stream?.destroy();
      },
    );
  }

  /** Create the tables once per outbox object; a failure is tried again on the next call. */
  #ensureSchema(): Promise<void> {
    this.#ready ??= ensureSchema(this.#usePool(), this.schema).catch((error: unknown) => {
      this.#ready = undefined;
      throw explain(error, this.#at);
    });
    return this.#ready;
  }

  #usePool(): pg.Pool {
    if (this.#closed) throw new TaskportError(ORIGIN, "this outbox was closed; create a new one.");
    if (this.#pool) return this.#pool;
    const pool = new pg.Pool({
      ...this.#connectionOptions(),
      max: this.#options.max ?? 4,
      statement_timeout: this.#timeouts.operationMs,
      // pg's own deadline a second after the server's, so the server's clean cancel comes first;
      // pg's is for a server that does not answer at all.
      query_timeout: this.#timeouts.operationMs + 1_000,
      idle_in_transaction_session_timeout: CLAIM_IDLE_LIMIT_MS,
    });
    // An idle connection that dies (a server restart) is dropped and replaced by the pool; without
    // a listener its error would end the process.
    pool.on("error", () => {});
    this.#pool = pool;
    return pool;
  }

  async #listenConnection(): Promise<pg.Client> {
    if (this.#closed) throw new TaskportError(ORIGIN, "this outbox was closed; create a new one.");
    const client = new pg.Client(this.#connectionOptions());
    // Errors after connecting reach the listener through its own handlers.
    client.on("error", () => {});
    try {
      await client.connect();
    } catch (error) {
      await client.end().catch(() => {});
      throw error;
    }
    return client;
  }

  #connectionOptions(): pg.ClientConfig {
    return {
      connectionString: this.#options.connectionString,
      application_name: this.#options.applicationName ?? "taskport-outbox",
      connectionTimeoutMillis: this.#timeouts.connectMs,
      keepAlive: true,
    };
  }
}

/** A claim: a transaction holding its rows' locks on one connection of the pool until `finish`. */
class PostgresClaim implements OutboxClaim {
  readonly jobs: readonly NewJob[];
  readonly #client: pg.PoolClient;
  readonly #rows: readonly OutboxRow[];
  readonly #remove: string;
  readonly #at: Whereabouts;
  #finished = false;

  constructor(client: pg.PoolClient, rows: readonly OutboxRow[], remove: string, at: Whereabouts) {
    this.#client = client;
    this.#rows = rows;
    this.#remove = remove;
    this.#at = at;
    this.jobs = rows.map(jobOf);
  }

  async finish(handedIds: readonly string[]): Promise<void> {
    if (this.#finished) return;
    this.#finished = true;
    const handed = new Set(handedIds);
    const ids = this.#rows.filter((row) => handed.has(row.id)).map((row) => row.id);
    try {
      if (ids.length > 0) await this.#client.query(this.#remove, [ids]);
      await this.#client.query("COMMIT");
      this.#client.release();
    } catch (error) {
      // The connection goes, and with it the claim's locks: the rows are free again.
      this.#client.release(true);
      throw explain(error, this.#at);
    }
  }
}

/** Build the outbox a `postgres://` URL names (`?schema=`, `?max=`). Opens no connection. */
export function createOutbox(url: URL): PostgresOutbox {
  const { connectionString, schema, max, timeouts } = parseUrlOptions(url);
  return new PostgresOutbox({
    connectionString,
    ...(schema !== undefined ? { schema } : {}),
    ...(max !== undefined ? { max } : {}),
    ...(timeouts !== undefined ? { timeouts } : {}),
  });
}

function secretsOf(connectionString: string): string[] {
  try {
    const password = new URL(connectionString).password;
    return [password, decodeURIComponent(password)].filter((secret) => secret.length > 0);
  } catch {
    return [];
  }
}
