import { ValidationError } from "@taskport/core";

/** What pg-boss runs statements through (its `IDatabase`). */
export interface Executor {
  executeSql(text: string, values?: unknown[]): Promise<{ rows: unknown[] }>;
}

/** A `pg` client (`Client` or `PoolClient`) inside `BEGIN`, or anything with a compatible `query`. */
export interface QueryableLike {
  query(text: string, values?: unknown[]): Promise<{ rows: unknown[] }>;
}

/**
 * Turn the `transaction` a caller passed to `enqueue` into the executor pg-boss sends through, so
 * the job commits or rolls back with the caller's own work. Accepts a `pg` client inside a
 * transaction, or a pg-boss executor such as `fromKysely(trx)`, `fromDrizzle(tx, sql)`, `fromKnex(trx)`
 * or `fromPrisma(tx)` from `pg-boss`.
 */
export function toExecutor(transaction: unknown): Executor {
  if (typeof transaction === "object" && transaction !== null) {
    if (typeof (transaction as Executor).executeSql === "function") return transaction as Executor;
    if (typeof (transaction as QueryableLike).query === "function") {
      const client = transaction as QueryableLike;
      return { executeSql: (text, values) => client.query(text, values) };
    }
  }
  throw new ValidationError(
    "pg-boss",
    "transaction must be a pg client inside BEGIN (pool.connect() then client.query('BEGIN')) or a pg-boss executor such as fromKysely(trx) / fromDrizzle(tx, sql) / fromKnex(trx) / fromPrisma(tx).",
  );
}
