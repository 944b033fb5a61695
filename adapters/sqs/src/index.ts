export { ATTRIBUTE } from "./message-format.ts";
export { deadLetterQueueName, sqsQueueName } from "./queue-registry.ts";
export { createAdapter, SqsAdapter, type SqsAdapterOptions } from "./sqs-adapter.ts";
export { parseUrlOptions, type UrlOptions } from "./url-options.ts";
