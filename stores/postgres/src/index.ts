export type { PgClientLike, PgPoolLike, StatementConfig } from "./database.ts";
export { createStore, PostgresStore, type PostgresStoreOptions } from "./postgres-store.ts";
export { SCHEMA_VERSION } from "./schema.ts";
export { parseUrlOptions, type UrlOptions, validateSchemaName } from "./url-options.ts";
