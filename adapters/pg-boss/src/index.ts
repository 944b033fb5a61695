export { createAdapter, PgBossAdapter, type PgBossAdapterOptions } from "./pg-boss-adapter.ts";
export { type Executor, type QueryableLike, toExecutor } from "./transaction.ts";
export { parseUrlOptions, type UrlOptions, validateSchemaName } from "./url-options.ts";
