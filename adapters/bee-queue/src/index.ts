export { BeeQueueAdapter, type BeeQueueAdapterOptions, createAdapter } from "./bee-queue-adapter.ts";
export { dedupJobId, isJobData, type JobData } from "./job-data.ts";
export type { RedisOptions } from "./redis-client.ts";
export { parseUrlOptions, type UrlOptions, validatePrefix } from "./url-options.ts";
