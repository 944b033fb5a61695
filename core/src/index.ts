export type { BackendOptions, BackendSpec } from "./backends/backend.ts";
export { Backend } from "./backends/backend.ts";
export {
  closeWithin,
  connectTimedOut,
  connectWithin,
  DEFAULT_TIMEOUTS,
  deadline,
  isTimeoutParam,
  resolveTimeouts,
  TIMEOUT_URL_PARAMS,
  type Timeouts,
  timeoutsFromUrl,
  withDeadline,
  withoutTimeoutParams,
  withTimeoutParams,
} from "./backends/deadlines.ts";
export { redactedError, redactSecrets, redactUrl } from "./backends/redact.ts";
export {
  closeBackends,
  configure,
  configuredBackends,
  DEFAULT_URL,
  getBackend,
  type TaskportConfig,
  URL_ENV,
} from "./backends/registry.ts";
export { parseBackendUrl, registerScheme } from "./backends/schemes.ts";
export {
  ALL_CAPABILITIES,
  type Capabilities,
  type DeduplicationMeaning,
  type Feature,
  mapPriority,
  PRIORITY_DEFAULT,
  PRIORITY_MAX,
  PRIORITY_MIN,
} from "./capabilities.ts";
export type {
  Adapter,
  AdapterFactory,
  CheckProblem,
  ConsumeOptions,
  Consumer,
  Delivery,
  DeliveryHandler,
  EnqueueContext,
  EnqueueReceipt,
  JobChange,
  JobInfo,
  JobListOptions,
  JobPage,
  JobStatus,
  NewJob,
  QueueStats,
  Settlement,
} from "./contract.ts";
export { type EnqueueOptions, MAX_QUEUE_NAME_LENGTH, validateQueueName } from "./enqueue-options.ts";
export {
  BulkEnqueueError,
  ConfigurationError,
  ConnectionError,
  DeadlineError,
  JobFailedError,
  JobNotFoundError,
  PayloadTooLargeError,
  SerializationError,
  type SerializedError,
  serializeError,
  TaskportError,
  TimeoutError,
  UnknownTaskError,
  type UnstoredJob,
  UnsupportedFeatureError,
  ValidationError,
  WorkerLostError,
} from "./errors.ts";
export { Emitter, type JobRef, type TaskportEvents } from "./events.ts";
export { indexesByQueue } from "./group-by-queue.ts";
export {
  type AttemptInfo,
  type EnqueueBatch,
  type Instrumentation,
  instrumentations,
  setInstrumentations,
} from "./instrumentation.ts";
export { JobHandle } from "./job-handle.ts";
export { decodeHeaders, encodeJson, type JsonCompatible, type JsonValue } from "./json.ts";
export { type Logger, logger, setLogger } from "./logger.ts";
export { createMemoryAdapter, MemoryAdapter, type MemoryAdapterOptions } from "./memory/memory-adapter.ts";
export { MemoryTransaction } from "./memory/memory-transaction.ts";
export type { Outbox, OutboxClaim, OutboxFactory } from "./outbox/contract.ts";
export { createOutboxFromUrl, OUTBOX_URL_ENV } from "./outbox/outbox-schemes.ts";
export { Relay, type RelayOptions, type RelayStats } from "./outbox/relay.ts";
export { startRelay } from "./outbox/start-relay.ts";
export { OutboxAdapter, type OutboxOptions, type RelayLease, withOutbox } from "./outbox/with-outbox.ts";
export { DEFAULT_RETENTION, resolveRetention } from "./retention.ts";
export { DEFAULT_RETRY, type RetryPolicy, retryDelayMs } from "./retry-policy.ts";
export { type Schedule, type ScheduleOptions, type ScheduleTiming, schedule } from "./schedules/schedule.ts";
export { tickJobId, tickKey } from "./schedules/tick-id.ts";
export { SharedSlots } from "./shared-slots.ts";
export {
  type DrizzleTransactionLike,
  type KnexTransactionLike,
  type KyselyTransactionLike,
  type QueryableLike,
  type SqlExecutor,
  type SqlTransaction,
  toSqlExecutor,
} from "./sql-transaction.ts";
export type {
  CancelOutcome,
  JobOutcome,
  JobStart,
  JobStore,
  RecordReceipt,
  Retention,
  StartDecision,
  StoreFactory,
} from "./store/contract.ts";
export { isFinal, nextAttempt, storedStatus } from "./store/job-state.ts";
export { MemoryStore } from "./store/memory-store.ts";
export { createStoreFromUrl, STORE_URL_ENV } from "./store/store-schemes.ts";
export { type JobStoreOptions, type StoreCoverage, storeCoverage, withJobStore } from "./store/with-job-store.ts";
export {
  type AnyTask,
  defineTask,
  type EnqueueArguments,
  type JsonGuard,
  MAX_NAME_LENGTH,
  type Task,
  type TaskDefaults,
  type TaskHandler,
  type TaskOptions,
  type TaskPayload,
  type TaskResult,
} from "./task.ts";
export type { TaskContext } from "./task-context.ts";
export { Wakeup } from "./wakeup.ts";
export { startWorker, Worker, type WorkerOptions } from "./worker/worker.ts";
