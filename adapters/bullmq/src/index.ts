export { BullMQAdapter, type BullMQAdapterOptions, createAdapter, evictionProblem } from "./bullmq-adapter.ts";
export { isJobData, type JobData } from "./job-data.ts";
export { parseUrlOptions, type UrlOptions, validatePrefix } from "./url-options.ts";
