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
import { StartGate } from "./start-gate.ts";

export interface WorkerOptions {
  readonly tasks: readonly AnyTask[];
  /** Queues to consume. Default: the queues the tasks are defined on. */
  readonly queues?: readonly string[];
  /** Jobs run at once. Default 10. */
  readonly concurrency?: number;
  /** Backend name given to `configure`, or a backend object. Default `"default"`. */
  readonly backend?: string | Backend;
  /**
   * Several backends to consume from at once, instead of `backend`: to move to another engine
   * without downtime, list the new one first and the old one after it (`["default", "previous"]`)
   * until the old one is empty. One `concurrency` covers them all, and events, `close()` and the
   * grace period cover them all. The first is the worker's own: its schedules enqueue there, and
   * enqueues never go to the others (tasks enqueue on their own backend, as always).
   */
  readonly backends?: readonly (string | Backend)[];
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
  /** The worker's own backend: the first of `backends`. */
  readonly backend: Backend;
  /** Every backend it consumes from, its own first (more than one while draining another engine). */
  readonly backends: readonly Backend[];
  readonly #tasks: Map<string, RunnableTask>;
  readonly #bodies: HandlerBodies;
  #consumers: Consumer[] | undefined;
  readonly #scheduler: Scheduler | undefined;
  #adapters: Adapter[] | undefined;
  #closing: Promise<void> | undefined;
  #leaveBackends: (() => void)[] = [];

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
    this.backends = resolveBackends(options);
    this.backend = this.backends[0] as Backend;
    // Ticks go to the worker's own backend only: a backend being drained gets no new jobs.
    if (options.schedules?.length) this.#scheduler = new Scheduler(options.schedules, this.backend, (error) => this.#reportError(error));
  }

  /**
   * Connect and start taking jobs from every backend. Resolves once consuming from all of them; if
   * one cannot be consumed, rejects, and runs nothing: the consumers that did start are abandoned,
   * so whatever they had received goes back to its engine. No job starts in the turn of the event
   * loop in which it resolves: listeners attached right after `await worker.start()` (or
   * `await startWorker(…)`) see every job, including those already waiting in the queues.
   */
  async start(): Promise<this> {
    if (this.#consumers || this.#closing) return this;
    const adapters = await Promise.all(this.backends.map((backend) => backend.adapter()));
    this.#adapters = adapters;
    await this.#scheduler?.start();
    const gate = new StartGate();
    const starting = this.backends.map((backend, i) => this.#consume(backend, adapters[i] as Adapter, gate));
    const outcomes = await Promise.allSettled(starting);
    const failure = outcomes.find((outcome) => outcome.status === "rejected");
    if (failure) {
      gate.refuse();
      this.#scheduler?.stop();
      for (const outcome of outcomes) if (outcome.status === "fulfilled") outcome.value.abandon().catch(() => {});
      throw failure.reason;
    }
    gate.openSoon();
    this.#consumers = outcomes.map((outcome) => (outcome as PromiseFulfilledResult<Consumer>).value);
    this.#leaveBackends = this.backends.map((backend) => backend.addWorker(this));
    return this;
  }

  /** Start consuming `backend`: its deliveries run in this worker's shared slots, once `gate` opens. */
  async #consume(backend: Backend, adapter: Adapter, gate: StartGate): Promise<Consumer> {
    const env: RunEnvironment = {
      origin: adapter.name,
      tasks: this.#tasks,
      events: this,
      bodies: this.#bodies,
      reportError: (error, job) => this.#reportError(error, job),
    };
    const options = {
      queues: this.queues,
      // Each engine may hand over up to the whole limit: the shared slots keep the total to it, and
      // a backend that is nearly drained leaves the others the slots.
      concurrency: this.concurrency,
      onError: (error: Error) => this.#reportError(error),
      retention: backend.retention,
    };
    const run = (delivery: Delivery) =>
      instrumentations().length === 0
        ? runDelivery(delivery, env)
        : runInstrumented({ engine: adapter.name, delivery }, () => runDelivery(delivery, env));
    const consuming = adapter.consume(options, (delivery) => (gate.open ? run(delivery) : gate.pass(() => run(delivery))));
    // Adapters bound their own setup; core's bound catches one that does not, and gives up a
    // consumer that starts after the caller was told it did not (the gate has refused its jobs).
    return backend.bounded("start a worker", consuming).catch((error: unknown) => {
      if (error instanceof DeadlineError) consuming.then((late) => late.abandon()).catch(() => {});
      throw error;
    });
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
   *
   * With several backends, each consumer stops on its own: one whose engine is down (its stop
   * neither resolves nor fails) holds up no other, and is abandoned when the grace period ends,
   * which leaves its unsettled jobs to be delivered again once the engine is back. A consumer
   * whose stop fails is reported as an `error` event and abandoned; close() still waits for the rest.
   */
  close(options: { graceMs?: number } = {}): Promise<void> {
    this.#closing ??= this.#close(options.graceMs ?? this.graceMs).finally(() => {
      for (const leave of this.#leaveBackends) leave();
    });
    return this.#closing;
  }

  async #close(graceMs: number): Promise<void> {
    this.#scheduler?.stop();
    const consumers = this.#consumers;
    if (!consumers) return;
    const stoppedEach = consumers.map(() => false);
    // After stop() no delivery is waiting for a slot: what is left are bodies past their timeout.
    const stopping = consumers.map((consumer, i) =>
      consumer.stop().then(
        () => {
          stoppedEach[i] = true;
        },
        async (error: unknown) => {
          // A consumer that cannot stop cleanly is given up as a crash would be: its jobs come back.
          this.#reportError(error instanceof Error ? error : new Error(String(error)));
          await this.#abandon(consumer, this.backends[i] as Backend);
          stoppedEach[i] = true;
        },
      ),
    );
    const stopped = Promise.all(stopping).then(async () => {
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
    await Promise.all(consumers.map((consumer, i) => (stoppedEach[i] ? undefined : this.#abandon(consumer, this.backends[i] as Backend))));
  }

  /**
   * Give up `consumer` at once, within the backend's close bound: an engine that is gone can hang
   * even a disconnect, and its unsettled jobs come back by its own leases either way.
   */
  async #abandon(consumer: Consumer, backend: Backend): Promise<void> {
    await backend.boundedClose("give up a worker's consumer", consumer.abandon()).catch((error: unknown) => {
      this.#reportError(error instanceof Error ? error : new Error(String(error)));
    });
  }

  /** For the conformance harness: the engine consumer of the worker's own backend, to simulate a crash. */
  get consumer(): Consumer | undefined {
    return this.#consumers?.[0];
  }

  /** The adapter of the worker's own backend, once started. */
  get adapter(): Adapter | undefined {
    return this.#adapters?.[0];
  }
}

/** `backends`, else `backend`, else `default`, as Backend objects: at least one, none twice. */
function resolveBackends(options: WorkerOptions): Backend[] {
  if (options.backends !== undefined && options.backend !== undefined) {
    throw new ValidationError("core", "give a worker either backend or backends, not both: backends: [own, …draining].");
  }
  const given = options.backends ?? [options.backend];
  if (given.length === 0) throw new ValidationError("core", 'a worker needs at least one backend: backends: ["default"].');
  const backends = given.map((backend) => (typeof backend === "object" ? backend : getBackend(backend)));
  const twice = backends.find((backend, i) => backends.indexOf(backend) !== i);
  if (twice) throw new ValidationError("core", `backend "${twice.name}" is listed twice in a worker's backends.`);
  return backends;
}

/** Create a worker and start it. */
export async function startWorker(options: WorkerOptions): Promise<Worker> {
  return new Worker(options).start();
}
