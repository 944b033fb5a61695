import { type QueryableLike, type SqlExecutor, toSqlExecutor } from "@taskport/core";

/** What pg-boss runs statements through (its `IDatabase`). */
export type Executor = SqlExecutor;
export type { QueryableLike };

/**
 * Turn the `transaction` a caller passed to `enqueue` into the executor pg-boss sends through, so
 * the job commits or rolls back with the caller's own work. Core's `toSqlExecutor` is the one place
 * that knows the shapes (a `pg` client inside `BEGIN`, a Kysely, Knex or Drizzle transaction, or a
 * pg-boss executor such as `fromKysely(trx)`); the outbox accepts the same ones.
 */
export function toExecutor(transaction: unknown): Executor {
  return toSqlExecutor(transaction, "pg-boss");
}
