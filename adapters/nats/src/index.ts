export { HEADER } from "./message-format.ts";
export { type QueueNames, queueNames } from "./names.ts";
export { createAdapter, NatsAdapter, type NatsAdapterOptions } from "./nats-adapter.ts";
export { parseUrlOptions, type UrlOptions } from "./url-options.ts";
