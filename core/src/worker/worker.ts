import type { Backend } from "../backends/backend.ts";
import { getBackend } from "../backends/registry.ts";
import type { Adapter, Consumer, Delivery } from "../contract.ts";
import { validateQueueName } from "../enqueue-options.ts";
import { DeadlineError, ValidationError } from "../errors.ts";
import { Emitter, type JobRef, type TaskportEvents } from "../events.ts";
import { instrumentations, runInstrumented } from "../instrumentation.ts";
import { logger } from "../logger.ts";
import type { Schedule } from "../schedules/schedule.ts";
import { Scheduler } from "../schedules/scheduler.ts";
import type { AnyTask } from "../task.ts";
import { HandlerBodies } from "./handler-bodies.ts";
import { type RunEnvironment, type RunnableTask, runDelivery, toRunnable } from "./run-delivery.ts";

export interface WorkerOptions {
  readonly tasks: readonly AnyTask[];
  /** Queues to consume. Default: the queues the tasks are defined on. */
  readonly queues?: readonly string[];
  /** Jobs run at once. Default 10. */
  readonly concurrency?: number;
  /** Backend name given to `configure`, or a backend object. Default `"default"`. */
  readonly backend?: string | Backend;
  /** How long `close()` lets running jobs finish before aborting them. Default 30 s. */
  readonly graceMs?: number;
  /**
   * Schedules whose ticks this worker enqueues (see `schedule`). Every worker may run the same
   * schedules: each tick is still one job.
   */
  readonly schedules?: readonly Schedule[];
}

/**
 * A worker: runs the jobs of its tasks from its queues until closed. It maps task names only to
 * the handlers it was given; nothing in a job's data decides what code runs.
 */
export class Worker extends Emitter<TaskportEvents> {
  readonly queues: readonly string[];
  readonly concurrency: number;
  readonly graceMs: number;
  readonly backend: Backend;
  readonly #tasks: Map<string, RunnableTask>;
  readonly #bodies: HandlerBodies;
  #consumer: Consumer | undefined;
  readonly #scheduler: Scheduler | undefined;
  #adapter: Adapter | undefined;
  #closing: Promise<void> | undefined;
  #leaveBackend: (() => void) | undefined;

  constructor(options: WorkerOptions) {
    super();
    const { tasks, concurrency = 10, graceMs = 30_000 } = options;
    if (!Array.isArray(tasks) || tasks.length === 0)
      throw new ValidationError("core", "a worker needs at least one task: startWorker({ tasks: [myTask] }).");
    if (!Number.isInteger(concurrency) || concurrency < 1)
      throw new ValidationError("core", `worker concurrency must be an integer ≥ 1, got ${concurrency}.`);
    if (!(graceMs >= 0)) throw new ValidationError("core", `worker graceMs must be ≥ 0, got ${graceMs}.`);
    this.#tasks = new Map();
    for (const task of tasks) {
      const known = this.#tasks.get(task.name);
      if (known && known.task.handler !== task.handler) {
        throw new ValidationError("core", `two different tasks are named "${task.name}"; task names must be unique.`);
      }
      this.#tasks.set(task.name, toRunnable(task));
    }
    this.queues = [...new Set(options.queues ?? tasks.map((task) => task.defaults.queue ?? task.options.queue ?? "default"))];
    for (const queue of this.queues) validateQueueName(queue, "worker");
    this.concurrency = concurrency;
    this.#bodies = new HandlerBodies(concurrency);
    this.graceMs = graceMs;
    this.backend = typeof options.backend === "object" ? options.backend : getBackend(options.backend);
    if (options.schedules?.length) this.#scheduler = new Scheduler(options.schedules, this.backend, (error) => this.#reportError(error));
  }

  /**
   * Connect and start taking jobs. Resolves once consuming. No job starts in the turn of the event
   * loop in which it resolves: listeners attached right after `await worker.start()` (or
   * `await startWorker(…)`) see every job, including those already waiting in the queues.
   */
  async start(): Promise<this> {
    if (this.#consumer || this.#closing) return this;
    const adapter = await this.backend.adapter();
    this.#adapter = adapter;
    const env: RunEnvironment = {
      origin: adapter.name,
      tasks: this.#tasks,
      events: this,
      bodies: this.#bodies,
      reportError: (error, job) => this.#reportError(error, job),
    };
    const options = {
      queues: this.queues,
      concurrency: this.concurrency,
      onError: (error: Error) => this.#reportError(error),
      retention: this.backend.retention,
    };
    await this.#scheduler?.start();
    // An engine may hand over waiting jobs while consume() is still being awaited (the memory engine
    // in a microtask, RabbitMQ in the socket read that confirms the consumer): hold them until a
    // macrotask after start() resolves, since the caller's continuation runs in microtasks before it.
    let open = false;
    let opened!: () => void;
    const opening = new Promise<void>((resolve) => {
      opened = resolve;
    });
    const run = (delivery: Delivery) =>
      instrumentations().length === 0
        ? runDelivery(delivery, env)
        : runInstrumented({ engine: adapter.name, delivery }, () => runDelivery(delivery, env));
    try {
      const consuming = adapter.consume(options, (delivery) => (open ? run(delivery) : opening.then(() => run(delivery))));
      // Adapters bound their own setup; core's bound catches one that does not, and stops a
      // consumer that starts after the caller was told it did not.
      this.#consumer = await this.backend.bounded("start a worker", consuming).catch((error: unknown) => {
        if (error instanceof DeadlineError) consuming.then((late) => late.stop()).catch(() => {});
        throw error;
      });
    } catch (error) {
      this.#scheduler?.stop();
      throw error;
    } finally {
      setImmediate(() => {
        open = true;
        opened();
      });
    }
    this.#leaveBackend = this.backend.addWorker(this);
    return this;
  }

  /** Problems outside the lifecycle events go to `error` listeners; with none, to the logger, so they are never silent. */
  #reportError(error: Error, job?: JobRef): void {
    if (this.has("error")) this.emit("error", job ? { error, job } : { error });
    else
      logger().error(
        { queues: this.queues, error, ...(job ? { job } : {}) },
        `[taskport] worker on ${this.queues.join(", ")}: ${error.message}`,
      );
  }

  /** Names of the tasks this worker runs. */
  get taskNames(): string[] {
    return [...this.#tasks.keys()];
  }

  /** Handler bodies running now, counting those still running past their timeout. */
  get active(): number {
    return this.#bodies.size;
  }

  /**
   * Stop gracefully: take no new jobs, let running ones finish within the grace period, then abort
   * what is left and give it back to the engine for redelivery. Within the grace period it also
   * waits for handlers still running past their timeout (their jobs are settled already).
   * Idempotent; every call resolves when the worker has stopped. The backend stays open for producers.
   */
  close(options: { graceMs?: number } = {}): Promise<void> {
    this.#closing ??= this.#close(options.graceMs ?? this.graceMs).finally(() => this.#leaveBackend?.());
    return this.#closing;
  }

  async #close(graceMs: number): Promise<void> {
    this.#scheduler?.stop();
    const consumer = this.#consumer;
    if (!consumer) return;
    // After stop() no delivery is waiting for a slot: what is left are bodies past their timeout.
    const stopped = consumer.stop().then(async () => {
      await this.#bodies.whenIdle();
      return true;
    });
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), graceMs);
    });
    const inTime = await Promise.race([stopped, expired]);
    clearTimeout(timer);
    if (inTime) return;
    const reason = new DOMException(`worker shut down after its ${graceMs} ms grace period; the job will be delivered again`, "AbortError");
    this.#bodies.abortAll(reason);
    // Deliveries still waiting for a slot must not start now: abandon() gives their jobs back.
    this.#bodies.drop();
    await consumer.abandon();
  }

  /** For the conformance harness: the engine consumer, to simulate a crash. */
  get consumer(): Consumer | undefined {
    return this.#consumer;
  }

  /** The adapter this worker consumes from, once started. */
  get adapter(): Adapter | undefined {
    return this.#adapter;
  }
}

/** Create a worker and start it. */
export async function startWorker(options: WorkerOptions): Promise<Worker> {
  return new Worker(options).start();
}
