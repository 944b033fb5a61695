/**
 * The seam between taskport and an application's SQL transaction, in one place: whatever the app
 * passed as `{ transaction }`, a PostgreSQL-backed part (the pg-boss adapter, the outbox) gets a
 * {@link SqlExecutor} that runs its statements on that transaction's connection, so they commit or
 * roll back with the app's own work. Duck-typed: core imports no driver and no ORM. Each shape below
 * is the subset of a library's public transaction object that taskport needs.
 */
import { ValidationError } from "./errors.ts";

/** Runs one statement with `$1, $2, …` placeholders; pg-boss's `IDatabase` has this shape. */
export interface SqlExecutor {
  executeSql(text: string, values?: unknown[]): Promise<{ rows: unknown[] }>;
}

/** A `pg` `Client` or `PoolClient` inside `BEGIN`, or anything with a compatible `query`. */
export interface QueryableLike {
  query(text: string, values?: unknown[]): Promise<{ rows: unknown[] }>;
}

/** A Kysely `Transaction` (`db.transaction().execute((trx) => …)`). */
export interface KyselyTransactionLike {
  executeQuery(query: {
    readonly sql: string;
    readonly parameters: readonly unknown[];
    readonly query: { readonly kind: string };
    readonly queryId: { readonly queryId: string };
  }): Promise<{ rows: readonly unknown[] }>;
}

/** A Knex transaction (`knex.transaction((trx) => …)`): it binds `?` placeholders, not `$n`. */
export interface KnexTransactionLike {
  readonly isTransaction: boolean;
  raw(sql: string, bindings: readonly unknown[]): PromiseLike<unknown>;
}

/**
 * A Drizzle transaction (`db.transaction((tx) => …)`): `execute` takes any object whose `getSQL()`
 * compiles, through `toQuery()`, to text and parameters, the way drizzle's own `sql` tag does.
 */
export interface DrizzleTransactionLike {
  execute(query: { getSQL(): { toQuery(config: unknown): { sql: string; params: unknown[] } } }): PromiseLike<unknown>;
}

/** What `{ transaction }` may be on a PostgreSQL-backed engine or outbox. */
export type SqlTransaction = SqlExecutor | QueryableLike | KyselyTransactionLike | KnexTransactionLike | DrizzleTransactionLike;

/**
 * The executor for the `transaction` a caller passed to `enqueue`. Accepts, in this order: an
 * executor (`executeSql`, as pg-boss's `fromKysely(trx)`, `fromKnex(trx)`, `fromDrizzle(tx, sql)`
 * and `fromPrisma(tx)` make), a `pg` client inside `BEGIN`, a Kysely, Knex or Drizzle transaction.
 * Anything else is a `ValidationError` from `origin` that lists what would do.
 */
export function toSqlExecutor(transaction: unknown, origin: string): SqlExecutor {
  // A Knex transaction is a function with properties, not a plain object.
  if ((typeof transaction === "object" || typeof transaction === "function") && transaction !== null) {
    const candidate = transaction as Partial<SqlExecutor & QueryableLike & KyselyTransactionLike & KnexTransactionLike> &
      Partial<DrizzleTransactionLike>;
    if (typeof candidate.executeSql === "function") return candidate as SqlExecutor;
    if (typeof candidate.query === "function") {
      const client = candidate as QueryableLike;
      return { executeSql: (text, values) => client.query(text, values) };
    }
    if (typeof candidate.executeQuery === "function") return fromKyselyLike(candidate as KyselyTransactionLike);
    if (candidate.isTransaction === true && typeof candidate.raw === "function") return fromKnexLike(candidate as KnexTransactionLike);
    if (typeof candidate.execute === "function") return fromDrizzleLike(candidate as DrizzleTransactionLike);
  }
  throw new ValidationError(
    origin,
    "transaction must be a pg client inside BEGIN (pool.connect() then client.query('BEGIN')), the trx of a Kysely " +
      "or Knex transaction, the tx of a Drizzle one, or an executor with executeSql(text, values) such as pg-boss's " +
      "fromPrisma(tx). Nothing was enqueued.",
  );
}

function fromKyselyLike(trx: KyselyTransactionLike): SqlExecutor {
  return {
    async executeSql(text, values = []) {
      const result = await trx.executeQuery({
        sql: text,
        parameters: values,
        query: { kind: "RawNode" },
        queryId: { queryId: "taskport" },
      });
      return { rows: [...result.rows] };
    },
  };
}

function fromKnexLike(trx: KnexTransactionLike): SqlExecutor {
  return {
    async executeSql(text, values = []) {
      const { parts, ordered } = splitPlaceholders(text, values);
      // knex reads every `?` as a binding: a literal one (jsonb's `?` operator) is written `\?`.
      const sql = parts.map((part) => part.replace(/\?/g, "\\?")).join("?");
      return rowsOf(await trx.raw(sql, ordered));
    },
  };
}

function fromDrizzleLike(tx: DrizzleTransactionLike): SqlExecutor {
  return {
    async executeSql(text, values = []) {
      const query = { sql: text, params: values };
      const compiled = { toQuery: () => query };
      return rowsOf(await tx.execute({ getSQL: () => compiled }));
    },
  };
}

/**
 * `$n` placeholders in text order, for binders that take `?`: the text between them and each
 * occurrence's value (a `$2` used twice binds its value twice).
 */
function splitPlaceholders(text: string, values: readonly unknown[]): { parts: string[]; ordered: unknown[] } {
  const parts: string[] = [];
  const ordered: unknown[] = [];
  const placeholder = /\$(\d+)/g;
  let last = 0;
  for (let match = placeholder.exec(text); match !== null; match = placeholder.exec(text)) {
    parts.push(text.slice(last, match.index));
    ordered.push(values[Number(match[1]) - 1]);
    last = placeholder.lastIndex;
  }
  parts.push(text.slice(last));
  return { parts, ordered };
}

/** Rows from what a driver returned: node-postgres's result, an array of rows (postgres-js), or results per statement. */
function rowsOf(result: unknown): { rows: unknown[] } {
  if (Array.isArray(result)) {
    if (result.length > 0 && result.every((item) => Array.isArray((item as { rows?: unknown })?.rows))) {
      return { rows: result.flatMap((item) => (item as { rows: unknown[] }).rows) };
    }
    return { rows: result };
  }
  const rows = (result as { rows?: unknown } | undefined)?.rows;
  return { rows: Array.isArray(rows) ? rows : [] };
}
