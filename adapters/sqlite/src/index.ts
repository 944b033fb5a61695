export type { SqliteAdapterOptions, UrlOptions } from "./options.ts";
export { createAdapter, SqliteAdapter } from "./sqlite-adapter.ts";
export { parseUrlOptions } from "./url-options.ts";
