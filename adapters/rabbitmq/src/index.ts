export { HEADER } from "./message-format.ts";
export { createAdapter, RabbitMQAdapter, type RabbitMQAdapterOptions } from "./rabbitmq-adapter.ts";
export { parseUrlOptions, type QueueType, type UrlOptions } from "./url-options.ts";
