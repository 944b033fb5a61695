export { createOutbox, PostgresOutbox, type PostgresOutboxOptions } from "./postgres-outbox.ts";
export { parseUrlOptions, type UrlOptions } from "./url-options.ts";
