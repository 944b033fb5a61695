import { ALL_CAPABILITIES, type Capabilities } from "../capabilities.ts";
import type { Adapter, Consumer, EnqueueContext, EnqueueReceipt, JobInfo, NewJob } from "../contract.ts";

/** A job as the recording adapter saw it. */
export interface RecordedJob extends NewJob {
  readonly transaction?: unknown;
}

/**
 * Records what is enqueued, runs nothing: assert that code enqueues the right jobs with the right
 * options, without a worker (like django.tasks' DummyBackend). Declares every capability, so no
 * option is refused; pass `capabilities` to mimic a particular engine's refusals.
 */
export class RecordingAdapter implements Adapter {
  readonly name = "recording";
  readonly capabilities: Capabilities;
  readonly jobs: RecordedJob[] = [];

  constructor(capabilities: Partial<Capabilities> = {}) {
    this.capabilities = Object.freeze({ ...ALL_CAPABILITIES, deadLetter: false, ...capabilities });
  }

  async enqueue(jobs: readonly NewJob[], context: EnqueueContext): Promise<EnqueueReceipt[]> {
    for (const job of jobs) this.jobs.push(context.transaction === undefined ? job : { ...job, transaction: context.transaction });
    return jobs.map((job) => ({ id: job.id }));
  }

  /** Jobs of one task, in enqueue order. */
  jobsOf(taskName: string): RecordedJob[] {
    return this.jobs.filter((job) => job.name === taskName);
  }

  /** Forget what was recorded. */
  clear(): void {
    this.jobs.length = 0;
  }

  async consume(): Promise<Consumer> {
    return { stop: async () => {}, abandon: async () => {} };
  }

  async getJob(id: string, queue: string): Promise<JobInfo | null> {
    const job = this.jobs.find((j) => j.id === id && j.queue === queue);
    if (!job) return null;
    return {
      id: job.id,
      name: job.name,
      queue: job.queue,
      status: job.runAt ? "scheduled" : "queued",
      payload: job.payload,
      attempt: 0,
      maxAttempts: job.maxAttempts,
      enqueuedAt: job.enqueuedAt,
    };
  }

  async cancel(id: string): Promise<boolean> {
    const index = this.jobs.findIndex((job) => job.id === id);
    if (index < 0) return false;
    this.jobs.splice(index, 1);
    return true;
  }

  async close(): Promise<void> {}
}
