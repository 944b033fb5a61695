import type { Delivery, Settlement } from "../contract.ts";
import { SerializationError, serializeError, TaskportError, TimeoutError, UnknownTaskError, WorkerLostError } from "../errors.ts";
import type { Emitter, JobRef, TaskportEvents } from "../events.ts";
import { encodeJson, type JsonValue } from "../json.ts";
import { type RetryPolicy, resolveRetryPolicy, retryDelayMs } from "../retry-policy.ts";
import type { AnyTask } from "../task.ts";
import type { HandlerBodies } from "./handler-bodies.ts";
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
  /** The handler bodies running now, bounded by the worker's concurrency. */
  readonly bodies: HandlerBodies;
  /** A problem about a job that its events cannot carry: a handler that outlived its timeout. */
  readonly reportError: (error: Error, job: JobRef) => void;
}

/**
 * What a delivery that waited for a slot gets once the worker has given up (closed past its grace
 * period, its consumer abandoned): the engine takes the job back as after a crash, so it is neither
 * run nor settled.
 */
const NEVER_SETTLED: Promise<Settlement> = new Promise(() => {});

export function runDelivery(delivery: Delivery, env: RunEnvironment): Promise<Settlement> {
  const runnable = env.tasks.get(delivery.name);
  if (!runnable || delivery.attempt > delivery.maxAttempts + 1) return refuse(runnable, delivery, env);
  // No async frame of its own, and no promise when a slot is free: this runs once per job.
  const slot = env.bodies.enter();
  if (slot !== true) return Promise.resolve(slot).then((granted) => (granted ? start(runnable, delivery, env) : NEVER_SETTLED));
  return start(runnable, delivery, env);
}

/** How a delivery that must not run settles: its task is unknown here, or its worker kept dying. */
async function refuse(runnable: RunnableTask | undefined, delivery: Delivery, env: RunEnvironment): Promise<Settlement> {
  const { tasks, events } = env;
  if (!runnable) {
    // Visible, and final: retrying cannot make this worker know the task.
    const error = serializeError(new UnknownTaskError(env.origin, delivery.name, [...tasks.keys()]));
    if (events.has("failed")) events.emit("failed", { job: ref(delivery), attempt: delivery.attempt, error });
    return { status: "failed", error };
  }
  // The engine counted crashes: the last attempt and the one extra start a crashed job is given
  // (it must be delivered again) both died unsettled. The job fails for good, visibly, rather
  // than kill workers forever.
  const error = serializeError(new WorkerLostError(env.origin, delivery.maxAttempts));
  if (events.has("failed")) events.emit("failed", { job: ref(delivery), attempt: delivery.attempt - 1, error });
  return { status: "failed", error };
}

/** Start the handler in the slot it was given. */
function start(runnable: RunnableTask, delivery: Delivery, env: RunEnvironment): Promise<Settlement> {
  const ctx = new JobContext(delivery, env.events);
  env.bodies.begin(ctx);
  const timeoutMs = delivery.timeoutMs ?? runnable.task.options.timeoutMs;
  // Without a timeout the body has ended by the time its job settles: no slot is left to wait for.
  if (timeoutMs === undefined) return settle(runnable, delivery, ctx, env, undefined);
  return settleTimed(runnable, delivery, ctx, env, timeoutMs);
}

async function settleTimed(
  runnable: RunnableTask,
  delivery: Delivery,
  ctx: JobContext,
  env: RunEnvironment,
  timeoutMs: number,
): Promise<Settlement> {
  const settlement = await settle(runnable, delivery, ctx, env, timeoutMs);
  // A body deaf to its timeout still holds its slot: the adapter must not fetch into it yet.
  const slotFreed = env.bodies.ending(ctx);
  return slotFreed ? { ...settlement, slotFreed } : settlement;
}

/** Run the handler and decide how its job settles. */
async function settle(
  runnable: RunnableTask,
  delivery: Delivery,
  ctx: JobContext,
  env: RunEnvironment,
  timeoutMs: number | undefined,
): Promise<Settlement> {
  const { events, bodies } = env;
  const started = events.has("succeeded") ? performance.now() : 0;
  if (events.has("started")) events.emit("started", { job: ref(delivery), attempt: delivery.attempt });
  try {
    let value: unknown;
    if (timeoutMs === undefined) {
      try {
        value = await runnable.task.handler(delivery.payload, ctx);
      } finally {
        bodies.end(ctx);
      }
    } else {
      value = await withTimeout(runnable, delivery, ctx, timeoutMs, env);
    }
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
  }
}

/**
 * Run the handler with a timeout. At the timeout its signal is aborted and the attempt fails at
 * once, so the job settles; the body keeps its slot until it really ends, and one that ends late
 * (it ignored the signal) is reported, naming its job.
 */
function withTimeout(
  runnable: RunnableTask,
  delivery: Delivery,
  ctx: JobContext,
  timeoutMs: number,
  env: RunEnvironment,
): Promise<unknown> {
  return new Promise((resolve, reject) => {
    let timedOutAt: number | undefined;
    const timer = setTimeout(() => {
      timedOutAt = performance.now();
      const error = new TimeoutError(delivery.name, timeoutMs);
      ctx.abort(error);
      reject(error);
    }, timeoutMs);
    const ended = (): void => {
      clearTimeout(timer);
      env.bodies.end(ctx);
      if (timedOutAt !== undefined) env.reportError(overrun(delivery, timeoutMs, performance.now() - timedOutAt), ref(delivery));
    };
    Promise.resolve()
      .then(() => runnable.task.handler(delivery.payload, ctx))
      .then(
        (value) => {
          ended();
          resolve(value);
        },
        (error: unknown) => {
          ended();
          reject(error);
        },
      );
  });
}

function overrun(delivery: Delivery, timeoutMs: number, lateMs: number): TaskportError {
  return new TaskportError(
    "core",
    `the handler of job ${delivery.id} (task "${delivery.name}", queue "${delivery.queue}") ignored ctx.signal and ran ${Math.round(lateMs)} ms past its ${timeoutMs} ms timeout. ` +
      "The job was settled as timed out at the timeout; the handler kept its concurrency slot until it ended. " +
      "Pass ctx.signal to what the handler awaits, or check ctx.signal.aborted between steps.",
  );
}

function ref(delivery: Delivery): JobRef {
  return { id: delivery.id, name: delivery.name, queue: delivery.queue };
}
