import { setTimeout as sleep } from "node:timers/promises";
import {
  ConnectionError,
  type ConsumeOptions,
  type Consumer,
  type Delivery,
  type DeliveryHandler,
  type JsonValue,
  type SerializedError,
  type Settlement,
  SharedSlots,
} from "@taskport/core";
import { type Job, type Processor, UnrecoverableError, WaitingError, type Worker, type WorkerOptions } from "bullmq";
import { attemptsUsed, headersOf, isJobData, maxAttemptsOf, payloadOf } from "./job-data.ts";

/** What a consumer needs from its adapter. */
export interface ConsumerEnvironment {
  /**
   * A Worker that opens and owns its connections, so abandoning it drops exactly those, as a
   * crash would.
   */
  createWorker(queue: string, processor: Processor, options: Omit<WorkerOptions, "connection">): Worker;
  readonly workerOptions: Omit<WorkerOptions, "connection" | "concurrency" | "autorun">;
  /** Results go to BullMQ as their JSON text (`{ tp: 1, resultJson }`), for a store that keeps jsonb. */
  readonly jsonAsText: boolean;
  /** BullMQ names a worker's connections `<prefix>:<base64 queue>:w:<name>`. */
  readonly workerName: string;
}

/** The error BullMQ sees for a failed settlement: `retryInMs` feeds the `taskport` backoff strategy. */
export class SettledFailure extends Error {
  readonly retryInMs: number;
  constructor(error: SerializedError, retryInMs: number) {
    super(error.message);
    this.name = error.name;
    this.stack = error.stack ?? `${error.name}: ${error.message}`;
    this.retryInMs = retryInMs;
  }
}

/** Custom backoff: the exact delay core computed from the task's retry policy. */
export function taskportBackoff(_attemptsMade: number, _type: string | undefined, error: Error | undefined): number {
  return Math.max(0, Math.ceil((error as Partial<SettledFailure> | undefined)?.retryInMs ?? 0));
}

const NEVER = new Promise<never>(() => {});

/**
 * One `consume` call: a BullMQ Worker per taskport queue. With several queues a shared slot
 * count keeps handler calls at `concurrency` in all.
 */
export class BullMQConsumer implements Consumer {
  readonly #env: ConsumerEnvironment;
  readonly #options: ConsumeOptions;
  readonly #handler: DeliveryHandler;
  readonly #workers: Worker[] = [];
  #abandoned = false;
  #stopping: Promise<void> | undefined;
  /** Handler bodies running on past their job's settlement: each still holds its slot. */
  #overrunning = 0;
  /** Handler slots shared by the queues; none with a single queue, whose Worker's concurrency is the limit. */
  readonly #slots: SharedSlots | undefined;
  readonly #onClose: () => void;

  constructor(env: ConsumerEnvironment, options: ConsumeOptions, handler: DeliveryHandler, onClose: () => void) {
    this.#env = env;
    this.#options = options;
    this.#handler = handler;
    this.#slots = options.queues.length > 1 ? new SharedSlots(options.concurrency) : undefined;
    this.#onClose = onClose;
  }

  #report = (error: Error): void => {
    if (this.#abandoned) return;
    try {
      this.#options.onError?.(error);
    } catch {
      // a listener that throws must not stop the worker
    }
  };

  async start(): Promise<void> {
    for (const queue of this.#options.queues) {
      const worker = this.#env.createWorker(queue, (job, token, signal) => this.#run(job, queue, token, signal), {
        ...this.#env.workerOptions,
        name: this.#env.workerName,
        concurrency: this.#options.concurrency,
        autorun: false,
      });
      worker.on("error", this.#report);
      this.#workers.push(worker);
    }
    for (const worker of this.#workers) {
      worker.run().catch(this.#report);
    }
    await Promise.all(this.#workers.map((worker) => worker.waitUntilReady()));
    await Promise.all(this.#workers.map((worker) => this.#watch(worker)));
  }

  /**
   * ioredis reconnects by itself and BullMQ retries quietly, so a lost connection would go
   * unseen: report each one, so a worker's owner sees it. BullMQ 6 exposes its clients only
   * through its backend (an escape hatch it documents as Redis-specific); BullMQ 5 on the worker.
   * A PostgreSQL backend has neither: its pool replaces a broken connection on the next query.
   */
  async #watch(worker: Worker): Promise<void> {
    type Emitter = { on?: (event: string, listener: (...args: unknown[]) => void) => unknown };
    type Client = Promise<Emitter> | Emitter | undefined;
    const w = worker as unknown as {
      backend?: { client?: Client; blockingClient?: Client };
      client?: Client;
      blockingConnection?: { client?: Client };
    };
    const pair = w.backend ? [w.backend.client, w.backend.blockingClient] : [w.client, w.blockingConnection?.client];
    const clients = await Promise.all(pair.map((c) => Promise.resolve(c).catch(() => undefined)));
    for (const client of clients) {
      client?.on?.("reconnecting", () =>
        this.#report(
          new ConnectionError(
            "bullmq",
            `a worker connection to Redis (queue "${worker.name}") was lost; reconnecting. Jobs it held are delivered again by BullMQ's stalled-job check.`,
          ),
        ),
      );
    }
  }

  async #run(job: Job, queue: string, token: string | undefined, signal: AbortSignal | undefined): Promise<unknown> {
    let freed: Promise<void> | undefined;
    if (this.#slots && !(await this.#slots.acquire())) {
      if (this.#abandoned) return NEVER;
      // Fetched while every slot was busy and the worker is stopping: back to wait, unrun.
      await job.moveToWait(token);
      throw new WaitingError();
    }
    try {
      if (this.#abandoned) return NEVER;
      const data = job.data as unknown;
      const own = isJobData(data);
      const delivery: Delivery = {
        id: job.id as string,
        name: job.name,
        queue,
        payload: payloadOf(data),
        attempt: attemptsUsed(job) + 1,
        maxAttempts: maxAttemptsOf(job),
        ...(own && data.timeoutMs !== undefined ? { timeoutMs: data.timeoutMs } : {}),
        ...(own && headersOf(data) !== undefined ? { headers: headersOf(data) } : {}),
        ...(signal ? { signal } : {}),
        progress: (value: JsonValue) => job.updateProgress(value as never),
      };
      const settlement: Settlement = await this.#handler(delivery);
      // A crashed process settles nothing: after abandon() BullMQ must record nothing either.
      if (this.#abandoned) return NEVER;
      // Before BullMQ settles the job, which fetches the next one in the same call.
      if (settlement.slotFreed) freed = this.#holdSlot(settlement.slotFreed);
      if (settlement.status === "succeeded") {
        return this.#env.jsonAsText ? { tp: 1, resultJson: settlement.resultJson } : settlement.result;
      }
      if (settlement.retryInMs === undefined) {
        const error = new UnrecoverableError(settlement.error.message);
        error.name = settlement.error.name;
        error.stack = settlement.error.stack ?? `${settlement.error.name}: ${settlement.error.message}`;
        throw error;
      }
      throw new SettledFailure(settlement.error, settlement.retryInMs);
    } finally {
      if (freed) void freed.then(() => this.#slots?.release());
      else this.#slots?.release();
    }
  }

  /**
   * A body deaf to its timeout keeps its slot after its job settles: each Worker fetches for the
   * slots left (BullMQ's concurrency is at least 1, so with none left it is paused, not fetching).
   */
  #holdSlot(freed: Promise<void>): Promise<void> {
    this.#overrunning++;
    this.#fit();
    return freed.then(() => {
      this.#overrunning--;
      this.#fit();
    });
  }

  #fit(): void {
    if (this.#abandoned || this.#stopping) return;
    const room = this.#options.concurrency - this.#overrunning;
    for (const worker of this.#workers) {
      if (room > 0) {
        worker.concurrency = room;
        if (worker.isPaused()) void this.#resume(worker);
      } else if (!worker.isPaused()) {
        worker.pause(true).catch(this.#report);
      }
    }
  }

  /**
   * Until the worker fetches again. BullMQ 5 resumes only a worker whose fetch loop has ended (a
   * resume() while its last job settles does nothing); BullMQ 6 wakes a loop still running, but one
   * that ends just then leaves the worker idle.
   */
  async #resume(worker: Worker): Promise<void> {
    while (!this.#abandoned && !this.#stopping && this.#overrunning < this.#options.concurrency) {
      if (worker.isPaused()) await worker.resume();
      await sleep(10);
      if (worker.isPaused()) continue;
      if (!worker.isRunning()) worker.run().catch(this.#report);
      return;
    }
  }

  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    this.#slots?.close();
    // close() stops fetching at once and waits for the jobs it handed out and their settling writes.
    await Promise.all(this.#workers.map((worker) => worker.close().catch(this.#report)));
    this.#onClose();
  }

  async abandon(): Promise<void> {
    if (this.#abandoned) return;
    this.#abandoned = true;
    this.#slots?.close();
    // Dropped like a crashed process's: the jobs stay active with their locks, which expire, and
    // BullMQ's stalled-job check (in any worker) moves them back to wait.
    await Promise.all(this.#workers.map((worker) => worker.disconnect().catch(() => {})));
    for (const worker of this.#workers) worker.close(true).catch(() => {});
    this.#onClose();
  }
}
