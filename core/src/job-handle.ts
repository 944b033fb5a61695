import type { Backend } from "./backends/backend.ts";
import type { JobInfo, JobStatus } from "./contract.ts";
import { JobFailedError, JobNotFoundError, TimeoutError } from "./errors.ts";

const FINAL: ReadonlySet<JobStatus> = new Set(["succeeded", "failed", "cancelled"]);

/** What `enqueue` returns: the job's identity, and where the engine stores results, its state. */
export class JobHandle<Result> {
  readonly id: string;
  readonly taskName: string;
  readonly queue: string;
  /** True when a deduplication key matched an existing job: `id` is that job's. */
  readonly deduplicated: boolean;
  /** Last known status: as enqueued, or as read by `refresh()`. */
  status: JobStatus;
  readonly #backend: Backend;

  constructor(backend: Backend, id: string, taskName: string, queue: string, status: JobStatus, deduplicated: boolean) {
    this.#backend = backend;
    this.id = id;
    this.taskName = taskName;
    this.queue = queue;
    this.status = status;
    this.deduplicated = deduplicated;
  }

  /** Read the job's current state from the engine. Needs `capabilities.results`. */
  async refresh(): Promise<JobInfo> {
    const info = await this.#backend.getJob(this.id, this.queue);
    if (!info) {
      throw new JobNotFoundError(
        "core",
        `job ${this.id} of "${this.taskName}" is not known to the engine (removed, or expired from its retention).`,
      );
    }
    this.status = info.status;
    return info;
  }

  /**
   * Wait until the job has finished and return its result; throws `JobFailedError` when it failed
   * for good and `TimeoutError` when `timeoutMs` passes first. Needs `capabilities.results`.
   */
  async wait(options: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<Result> {
    const deadline = options.timeoutMs === undefined ? Number.POSITIVE_INFINITY : Date.now() + options.timeoutMs;
    let pause = 5;
    for (;;) {
      const info = await this.refresh();
      if (info.status === "succeeded") return info.result as Result;
      if (info.status === "failed" || info.status === "cancelled") {
        throw new JobFailedError("core", this.id, info.error ?? { name: "Cancelled", message: `job was ${info.status}` });
      }
      options.signal?.throwIfAborted();
      const left = deadline - Date.now();
      if (left <= 0) throw new TimeoutError("core", options.timeoutMs as number);
      await this.#backend.changeOf(this.id, pause, left);
      pause = Math.min(pause * 2, 250);
    }
  }

  /** Cancel the job if it has not finished. Needs `capabilities.cancel`. */
  async cancel(): Promise<boolean> {
    const cancelled = await this.#backend.cancel(this.id, this.queue);
    if (cancelled) this.status = "cancelled";
    return cancelled;
  }

  /** True once the status is final. */
  get finished(): boolean {
    return FINAL.has(this.status);
  }
}
