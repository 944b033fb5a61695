/**
 * The taskport error hierarchy. Every error a user can meet derives from {@link TaskportError};
 * catch that to handle them all. Messages start with their origin (`[taskport] [bullmq] …`)
 * and end with what to do about it.
 *
 * Each class states its `name` and a stable `code` as string literals rather than taking them from
 * the class: minifiers rename classes (`error.name === "g"`), and a second copy of this module makes
 * `instanceof` false, while a code survives both, and logs and JSON keep it.
 */

/** Base class of every taskport error. Not thrown directly. */
export class TaskportError extends Error {
  /** Which part raised it: `core`, or an adapter's name such as `bullmq`. */
  readonly origin: string;
  /** Stable across versions and bundlers: `TASKPORT_` and the error's kind, e.g. `TASKPORT_UNSUPPORTED_FEATURE`. */
  readonly code: string = "TASKPORT_ERROR";

  constructor(origin: string, message: string, options?: ErrorOptions) {
    super(`[taskport] [${origin}] ${message}`, options);
    this.origin = origin;
    // Subclasses below override it with a literal; another library's subclass keeps its class name.
    this.name = new.target === TaskportError ? "TaskportError" : new.target.name;
  }
}

/** A backend is configured wrongly: an invalid URL, an unknown scheme, a bad option. */
export class ConfigurationError extends TaskportError {
  override readonly name = "ConfigurationError";
  override readonly code = "TASKPORT_CONFIGURATION";
}

/** A payload or result is not a JSON value. Nothing was enqueued. */
export class SerializationError extends TaskportError {
  override readonly name = "SerializationError";
  override readonly code = "TASKPORT_SERIALIZATION";
  /** Where in the value the problem is, as a path such as `$.user.createdAt`. */
  readonly path: string;

  constructor(origin: string, message: string, path: string) {
    super(origin, message);
    this.path = path;
  }
}

/** A payload is larger than the engine accepts. Nothing was enqueued. */
export class PayloadTooLargeError extends TaskportError {
  override readonly name = "PayloadTooLargeError";
  override readonly code = "TASKPORT_PAYLOAD_TOO_LARGE";
  readonly bytes: number;
  readonly limit: number;

  constructor(origin: string, bytes: number, limit: number) {
    super(
      origin,
      `payload is ${bytes} bytes, over this engine's limit of ${limit} bytes. ` +
        "Store large data elsewhere (a database row, an object store) and enqueue its key instead.",
    );
    this.bytes = bytes;
    this.limit = limit;
  }
}

/** An option was used that the chosen engine cannot honour. Nothing was enqueued. */
export class UnsupportedFeatureError extends TaskportError {
  override readonly name = "UnsupportedFeatureError";
  override readonly code = "TASKPORT_UNSUPPORTED_FEATURE";
  readonly feature: string;

  constructor(origin: string, feature: string, alternative: string) {
    super(origin, `does not support ${feature}. ${alternative}`);
    this.feature = feature;
  }
}

/** A task definition or a call's options are invalid (empty name, negative delay, …). */
export class ValidationError extends TaskportError {
  override readonly name = "ValidationError";
  override readonly code = "TASKPORT_VALIDATION";
}

/** One job of a bulk enqueue that the engine did not store, with the engine's reason. */
export interface UnstoredJob {
  readonly id: string;
  readonly code: string;
  readonly message: string;
}

/**
 * Part of a bulk enqueue was stored and part was not: `storedIds` lists the jobs the engine holds,
 * `failed` the others with the engine's reason. Enqueue the failed ones again; they were not stored.
 */
export class BulkEnqueueError extends TaskportError {
  override readonly name = "BulkEnqueueError";
  override readonly code = "TASKPORT_BULK_ENQUEUE";
  readonly storedIds: readonly string[];
  readonly failed: readonly UnstoredJob[];

  constructor(origin: string, storedIds: readonly string[], failed: readonly UnstoredJob[]) {
    const first = failed[0];
    super(
      origin,
      `${failed.length} of ${storedIds.length + failed.length} jobs were not enqueued (first: job ${first?.id}: ${first?.code}: ${first?.message}); ` +
        `the other ${storedIds.length} were. Enqueue the failed jobs again (see .failed and .storedIds).`,
    );
    this.storedIds = storedIds;
    this.failed = failed;
  }
}

/** A worker received a job whose task name it has no handler for. The job fails without retry. */
export class UnknownTaskError extends TaskportError {
  override readonly name = "UnknownTaskError";
  override readonly code = "TASKPORT_UNKNOWN_TASK";
  readonly taskName: string;

  constructor(origin: string, taskName: string, known: readonly string[]) {
    super(
      origin,
      `no handler for task "${taskName}" in this worker (it knows: ${known.join(", ") || "none"}). ` +
        "Pass that task to the worker, or route it to a queue that a worker with the task consumes.",
    );
    this.taskName = taskName;
  }
}

/**
 * The worker running a job stopped without settling it (it crashed, was killed or lost its
 * connection) on the job's last attempt, and again on the one extra start a crashed job is given
 * after it. The job fails for good without running again. Only engines that count crashes as
 * attempts (`capabilities.crashCountsAsAttempt`) can tell.
 */
export class WorkerLostError extends TaskportError {
  override readonly name = "WorkerLostError";
  override readonly code = "TASKPORT_WORKER_LOST";

  constructor(origin: string, maxAttempts: number) {
    super(
      origin,
      `the worker running this job stopped without settling it (it crashed, was killed or lost its connection) on its last attempt (${maxAttempts} of ${maxAttempts}) ` +
        "and on the extra start it was given after that; it is not run again. Find what stops the worker, then redrive the job from the dead letters.",
    );
  }
}

/** The engine's server could not be reached or refused the connection. */
export class ConnectionError extends TaskportError {
  override readonly name = "ConnectionError";
  override readonly code = "TASKPORT_CONNECTION";
}

/**
 * A call to the engine's server (or a job store's, an outbox's) was sent over an established
 * connection and got no answer within its bound (`timeouts.operationMs`, `timeouts.closeMs`): the
 * server accepted it and went silent (a stalled proxy, a paused container, an overloaded host). The
 * call was abandoned; its effect is unknown (an enqueue may or may not be stored: enqueueing the
 * same jobs again is safe, their ids are kept). Not a job's own timeout: that is {@link TimeoutError}.
 * A server that cannot be reached in time at all is a {@link ConnectionError}.
 */
export class DeadlineError extends TaskportError {
  override readonly name = "DeadlineError";
  override readonly code = "TASKPORT_DEADLINE";
  /** What was being done, e.g. `enqueue`, `check`, `close`. */
  readonly operation: string;
  /** The server, with any password hidden. */
  readonly where: string;
  readonly timeoutMs: number;

  constructor(origin: string, operation: string, where: string, timeoutMs: number, options?: ErrorOptions) {
    super(
      origin,
      `${operation} at ${where} got no answer within ${timeoutMs} ms; it was abandoned. The server accepted the connection but did not answer: ` +
        "is it overloaded, paused or behind a stalled proxy? Raise timeouts.operationMs (URL: operationTimeoutMs) if it is only slow.",
      options,
    );
    this.operation = operation;
    this.where = where;
    this.timeoutMs = timeoutMs;
  }
}

/** A job ran longer than its timeout; its `ctx.signal` was aborted. */
export class TimeoutError extends TaskportError {
  override readonly name = "TimeoutError";
  override readonly code = "TASKPORT_TIMEOUT";
  readonly timeoutMs: number;

  constructor(origin: string, timeoutMs: number) {
    super(origin, `job timed out after ${timeoutMs} ms. Raise the task's timeout, or make the handler faster.`);
    this.timeoutMs = timeoutMs;
  }
}

/** A job asked about by id does not exist (or its record has expired). */
export class JobNotFoundError extends TaskportError {
  override readonly name = "JobNotFoundError";
  override readonly code = "TASKPORT_JOB_NOT_FOUND";
}

/** A job failed for good; thrown by `handle.wait()`. */
export class JobFailedError extends TaskportError {
  override readonly name = "JobFailedError";
  override readonly code = "TASKPORT_JOB_FAILED";
  readonly jobId: string;
  readonly error: SerializedError | undefined;

  constructor(origin: string, jobId: string, error: SerializedError | undefined) {
    super(origin, `job ${jobId} failed: ${error?.message ?? "no error recorded"}`);
    this.jobId = jobId;
    this.error = error;
  }
}

/** An error as it travels with a job: plain data, so every engine can store it. */
export interface SerializedError {
  name: string;
  message: string;
  stack?: string;
}

/** Reduce any thrown value to a {@link SerializedError}. */
export function serializeError(error: unknown): SerializedError {
  if (error instanceof Error) {
    return { name: error.name, message: error.message, ...(error.stack ? { stack: error.stack } : {}) };
  }
  return { name: "Error", message: typeof error === "string" ? error : safeString(error) };
}

function safeString(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
