import type { Capabilities } from "../capabilities.ts";
import type { Adapter, Consumer, Delivery, EnqueueReceipt, JobInfo, NewJob, Settlement } from "../contract.ts";
import { Emitter, type TaskportEvents } from "../events.ts";
import type { JsonValue } from "../json.ts";
import type { AnyTask } from "../task.ts";
import { HandlerBodies } from "../worker/handler-bodies.ts";
import { type RunEnvironment, runDelivery, toRunnable } from "../worker/run-delivery.ts";

/**
 * Runs each job inside `enqueue`, before it resolves, through the same runtime a worker uses
 * (timeouts, retries without their delays, result checks): tests see results at once, like
 * django.tasks' ImmediateBackend. It knows only the tasks it is given.
 */
export class ImmediateAdapter implements Adapter {
  readonly name = "immediate";
  readonly capabilities: Capabilities = Object.freeze({
    delay: false,
    priority: true,
    results: true,
    cancel: false,
    deduplication: false,
    nativeBulkEnqueue: true,
    transactions: false,
    ordering: "fifo",
    progress: true,
    deadLetter: false,
    // Jobs run inside enqueue(): nothing is ever delivered again.
    crashCountsAsAttempt: false,
    headers: true,
  });
  /** Lifecycle events of the jobs it ran. */
  readonly events = new Emitter<TaskportEvents>();
  readonly #env: RunEnvironment;
  readonly #jobs = new Map<
    string,
    { job: NewJob; status: JobInfo["status"]; attempt: number; settlement?: Settlement; progress?: unknown }
  >();

  constructor(tasks: readonly AnyTask[]) {
    this.#env = {
      origin: this.name,
      tasks: new Map(tasks.map((task) => [task.name, toRunnable(task)])),
      events: this.events,
      // Jobs run one at a time, inside enqueue(); a handler past its timeout is reported, not waited for.
      bodies: new HandlerBodies(Number.POSITIVE_INFINITY),
      reportError: (error, job) => this.events.emit("error", { error, job }),
    };
  }

  async enqueue(jobs: readonly NewJob[]): Promise<EnqueueReceipt[]> {
    for (const job of jobs) {
      const record: { job: NewJob; status: JobInfo["status"]; attempt: number; settlement?: Settlement; progress?: unknown } = {
        job,
        status: "running",
        attempt: 0,
      };
      this.#jobs.set(job.id, record);
      for (;;) {
        record.attempt++;
        const delivery: Delivery = {
          id: job.id,
          name: job.name,
          queue: job.queue,
          payload: JSON.parse(job.payloadJson),
          attempt: record.attempt,
          maxAttempts: job.maxAttempts,
          ...(job.timeoutMs !== undefined ? { timeoutMs: job.timeoutMs } : {}),
          ...(job.headers !== undefined ? { headers: job.headers } : {}),
          progress: async (value: JsonValue) => {
            record.progress = value;
          },
        };
        const settlement = await runDelivery(delivery, this.#env);
        record.settlement = settlement;
        if (settlement.status === "succeeded" || settlement.retryInMs === undefined) {
          record.status = settlement.status;
          break;
        }
      }
    }
    return jobs.map((job) => ({ id: job.id }));
  }

  async consume(): Promise<Consumer> {
    return { stop: async () => {}, abandon: async () => {} };
  }

  async getJob(id: string, queue: string): Promise<JobInfo | null> {
    const record = this.#jobs.get(id);
    if (!record || record.job.queue !== queue) return null;
    const { job, settlement } = record;
    return {
      id,
      name: job.name,
      queue,
      status: record.status,
      payload: job.payload,
      attempt: record.attempt,
      maxAttempts: job.maxAttempts,
      enqueuedAt: job.enqueuedAt,
      ...(settlement?.status === "succeeded" ? { result: settlement.result } : {}),
      ...(settlement?.status === "failed" ? { error: settlement.error } : {}),
      ...(record.progress !== undefined ? { progress: record.progress } : {}),
    };
  }

  async close(): Promise<void> {}
}
