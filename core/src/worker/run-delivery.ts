import type { Delivery, Settlement } from "../contract.ts";
import { SerializationError, serializeError, TimeoutError, UnknownTaskError } from "../errors.ts";
import type { Emitter, JobRef, TaskportEvents } from "../events.ts";
import { encodeJson, type JsonValue } from "../json.ts";
import { type RetryPolicy, resolveRetryPolicy, retryDelayMs } from "../retry-policy.ts";
import type { AnyTask } from "../task.ts";
import { JobContext } from "./job-context.ts";

/** A task as a worker holds it: its handler and its resolved retry policy. */
export interface RunnableTask {
  readonly task: AnyTask;
  readonly retry: Required<RetryPolicy>;
}

export function toRunnable(task: AnyTask): RunnableTask {
  return { task, retry: resolveRetryPolicy(task.options.retry, `task "${task.name}"`) };
}

/**
 * Run one delivery and decide how it settles: the part of a worker that is the same for every
 * engine. Never rejects.
 */
export interface RunEnvironment {
  /** The adapter's name, for error origins. */
  readonly origin: string;
  readonly tasks: ReadonlyMap<string, RunnableTask>;
  readonly events: Emitter<TaskportEvents>;
  /** Contexts of the jobs running now, so a shutdown past its grace period can abort them. */
  readonly running: Set<JobContext>;
}

export async function runDelivery(delivery: Delivery, env: RunEnvironment): Promise<Settlement> {
  const { tasks, events, running } = env;
  const runnable = tasks.get(delivery.name);
  if (!runnable) {
    // Visible, and final: retrying cannot make this worker know the task.
    const error = serializeError(new UnknownTaskError(env.origin, delivery.name, [...tasks.keys()]));
    if (events.has("failed")) events.emit("failed", { job: ref(delivery), attempt: delivery.attempt, error });
    return { status: "failed", error };
  }
  const ctx = new JobContext(delivery, events);
  running.add(ctx);
  const started = events.has("succeeded") ? performance.now() : 0;
  if (events.has("started")) events.emit("started", { job: ref(delivery), attempt: delivery.attempt });
  try {
    const timeoutMs = delivery.timeoutMs ?? runnable.task.options.timeoutMs;
    const value =
      timeoutMs === undefined ? await runnable.task.handler(delivery.payload, ctx) : await withTimeout(runnable, delivery, ctx, timeoutMs);
    const result = (value === undefined ? null : value) as JsonValue;
    const resultJson = encodeJson(delivery.name, result, `result of "${delivery.name}"`);
    if (events.has("succeeded")) {
      events.emit("succeeded", { job: ref(delivery), attempt: delivery.attempt, result, durationMs: performance.now() - started });
    }
    return { status: "succeeded", result, resultJson };
  } catch (thrown) {
    const error = serializeError(thrown);
    // A result that is not JSON will not become JSON by running again.
    const retryable = !(thrown instanceof SerializationError) && delivery.attempt < delivery.maxAttempts;
    if (retryable) {
      const retryInMs = retryDelayMs(runnable.retry, delivery.attempt);
      if (events.has("retrying")) events.emit("retrying", { job: ref(delivery), attempt: delivery.attempt, error, retryInMs });
      return { status: "failed", error, retryInMs };
    }
    if (events.has("failed")) events.emit("failed", { job: ref(delivery), attempt: delivery.attempt, error });
    return { status: "failed", error };
  } finally {
    running.delete(ctx);
  }
}

function withTimeout(runnable: RunnableTask, delivery: Delivery, ctx: JobContext, timeoutMs: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      const error = new TimeoutError(delivery.name, timeoutMs);
      ctx.abort(error);
      reject(error);
    }, timeoutMs);
    Promise.resolve()
      .then(() => runnable.task.handler(delivery.payload, ctx))
      .then(resolve, reject)
      .finally(() => clearTimeout(timer));
  });
}

function ref(delivery: Delivery): JobRef {
  return { id: delivery.id, name: delivery.name, queue: delivery.queue };
}
