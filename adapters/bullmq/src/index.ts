export { BullMQAdapter, type BullMQAdapterOptions, createAdapter } from "./bullmq-adapter.ts";
export { isJobData, type JobData } from "./job-data.ts";
export { evictionProblem } from "./redis-datastore.ts";
export { type PostgresUrlOptions, parsePostgresUrlOptions, parseUrlOptions, type UrlOptions, validatePrefix } from "./url-options.ts";
