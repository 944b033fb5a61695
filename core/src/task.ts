import type { Backend } from "./backends/backend.ts";
import { getBackend } from "./backends/registry.ts";
import { type EnqueueOptions, validateEnqueueOptions } from "./enqueue-options.ts";
import { ValidationError } from "./errors.ts";
import type { JobHandle } from "./job-handle.ts";
import type { JsonCompatible, JsonValue } from "./json.ts";
import { type RetryPolicy, resolveRetryPolicy } from "./retry-policy.ts";
import type { TaskContext } from "./task-context.ts";

export const MAX_NAME_LENGTH = 200;

/** A handler: receives the payload and a context, returns the result (JSON, or nothing). */
export type TaskHandler<Payload, Result> = (payload: Payload, ctx: TaskContext) => Result | Promise<Result>;

/** Defaults fixed where the task is defined. */
export interface TaskOptions {
  /** Queue the task's jobs go to. Default `"default"`. */
  readonly queue?: string;
  /** Priority, -100…100, higher first. Default 0. */
  readonly priority?: number;
  readonly retry?: RetryPolicy;
  /** Abort `ctx.signal` and fail the attempt after this many ms. Default: no timeout. */
  readonly timeoutMs?: number;
}

/** Defaults that `task.using()` can change: where and how the task is enqueued, never what it does. */
export interface TaskDefaults extends Omit<EnqueueOptions, "transaction" | "deduplicationKey" | "runAt"> {
  /**
   * Name of a backend given to `configure` (default `"default"`), or a backend object. Never an
   * engine URL: which engine runs a task is configuration, not task code.
   */
  readonly backend?: string | Backend;
}

/** A task: a named handler with typed payload and result. Define once, at module level. */
export interface Task<Payload = unknown, Result = unknown> {
  readonly name: string;
  readonly options: Readonly<TaskOptions>;
  readonly defaults: Readonly<TaskDefaults>;
  readonly handler: TaskHandler<Payload, Result>;
  /**
   * Enqueue one job on the task's backend. Resolves once the engine holds it. A task whose handler
   * takes no payload is enqueued with no argument: `ping.enqueue()`.
   */
  enqueue(...args: EnqueueArguments<Payload>): Promise<JobHandle<Result>>;
  /** Enqueue many jobs in as few engine calls as the engine allows. All or an error naming what was stored. */
  enqueueMany(payloads: readonly Payload[], options?: EnqueueOptions): Promise<JobHandle<Result>[]>;
  /** A copy of this task with other enqueue defaults (backend, queue, priority, delay, …). */
  using(defaults: TaskDefaults): Task<Payload, Result>;
}

/**
 * Nothing when the handler's payload and result are JSON-compatible; otherwise a property no function
 * has, whose name the compiler prints as the error: `defineTask` refuses the handler.
 */
export type JsonGuard<Payload, Result> = [Payload] extends [JsonCompatible<Payload>]
  ? [Result] extends [JsonCompatible<Result>]
    ? unknown
    : { "the handler's result is not JSON: return plain objects, arrays, strings, numbers, booleans or null": never }
  : { "the task's payload is not JSON: take plain objects, arrays, strings, numbers, booleans or null (a date as an ISO string)": never };

/** `enqueue`'s arguments: the payload may be left out when the task takes none (or accepts `undefined`). */
export type EnqueueArguments<Payload> = undefined extends Payload
  ? [payload?: Payload, options?: EnqueueOptions]
  : [payload: Payload, options?: EnqueueOptions];

/** Any task, whatever its payload and result types: what workers and backends take. */
// biome-ignore lint/suspicious/noExplicitAny: a task's handler parameter is contravariant; unknown would reject typed tasks
export type AnyTask = Task<any, any>;

/** The result type of a task, as stored: what the handler resolves to. */
export type TaskResult<T> = T extends Task<infer _P, infer R> ? R : never;
/** The payload type of a task. */
export type TaskPayload<T> = T extends Task<infer P, infer _R> ? P : never;

/**
 * Define a task. The payload and result types come from the handler's signature, and must be JSON
 * (a `Date` in either is a compile error; send `date.toISOString()`):
 *
 * ```ts
 * export const sendEmail = defineTask("send-email", async (p: { to: string }) => ({ sent: true }));
 * const job = await sendEmail.enqueue({ to: "a@example.com" });
 * ```
 */
export function defineTask<Payload = undefined, Result = void>(
  name: string,
  handler: TaskHandler<Payload, Result> & JsonGuard<Payload, Awaited<Result>>,
  options: TaskOptions = {},
): Task<Payload, Awaited<Result>> {
  validateTaskName(name);
  if (typeof handler !== "function") {
    throw new ValidationError("core", `task "${name}": the handler must be a function.`);
  }
  resolveRetryPolicy(options.retry, `task "${name}"`);
  const frozen = Object.freeze({ ...options });
  validateEnqueueOptions({ queue: frozen.queue, priority: frozen.priority, timeoutMs: frozen.timeoutMs }, `task "${name}"`);
  return makeTask(name, handler as TaskHandler<Payload, Awaited<Result>>, frozen, Object.freeze({}));
}

function makeTask<P, R>(
  name: string,
  handler: TaskHandler<P, R>,
  options: Readonly<TaskOptions>,
  defaults: Readonly<TaskDefaults>,
): Task<P, R> {
  const task: Task<P, R> = {
    name,
    options,
    defaults,
    handler,
    async enqueue(...[payload, callOptions]: EnqueueArguments<P>) {
      const [handle] = await backendOf(defaults).enqueue(task, [payload as JsonValue], callOptions);
      return handle as JobHandle<R>;
    },
    async enqueueMany(payloads, callOptions) {
      return (await backendOf(defaults).enqueue(task, payloads as readonly JsonValue[], callOptions)) as JobHandle<R>[];
    },
    using(next) {
      validateEnqueueOptions(next, `task "${name}".using()`);
      return makeTask(name, handler, options, Object.freeze({ ...defaults, ...next }));
    },
  };
  return Object.freeze(task);
}

function backendOf(defaults: TaskDefaults): Backend {
  return typeof defaults.backend === "object" ? defaults.backend : getBackend(defaults.backend);
}

export function validateTaskName(name: unknown): asserts name is string {
  if (typeof name !== "string" || name.trim() === "") {
    throw new ValidationError("core", 'a task name must be a non-empty string, such as "send-email".');
  }
  if (name.length > MAX_NAME_LENGTH) {
    throw new ValidationError(
      "core",
      `task name "${name.slice(0, 40)}…" is ${name.length} characters; the limit is ${MAX_NAME_LENGTH}. Use a shorter, stable name.`,
    );
  }
}
