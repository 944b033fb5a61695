import type { JobChange, JobInfo, JobListOptions, JobPage, JobStatus, NewJob, QueueStats } from "../contract.ts";
import { type SerializedError, ValidationError } from "../errors.ts";
import type { CancelOutcome, JobOutcome, JobStart, JobStore, RecordReceipt, Retention, StartDecision } from "./contract.ts";
import { isFinal, nextAttempt, storedStatus } from "./job-state.ts";

interface MemoryRecord {
  readonly id: string;
  readonly name: string;
  readonly queue: string;
  readonly payloadJson: string;
  readonly maxAttempts: number;
  readonly enqueuedAt: number;
  readonly deduplicationKey: string | undefined;
  /** Recording order, the cursor of `listJobs`. */
  readonly order: number;
  status: JobStatus;
  attempt: number;
  runAt: number | undefined;
  /** Set while the enqueue has not been confirmed: the record holds its key until then. */
  pendingUntil: number | undefined;
  cancelRequested: boolean;
  finishedAt: number | undefined;
  /** Set when the job finishes with a retention: past it, the record reads as gone. */
  expiresAt?: number;
  resultJson: string | undefined;
  error: SerializedError | undefined;
  progressJson: string | undefined;
}

/**
 * The in-process job store: the reference implementation of the contract, for tests and for an
 * engine used within one process. Everything is lost when the process exits.
 */
export class MemoryStore implements JobStore {
  readonly name = "memory-store";
  readonly #records = new Map<string, MemoryRecord>();
  /** `queue \0 key` → id of the record that holds it. */
  readonly #keys = new Map<string, string>();
  readonly #listeners = new Set<(change: JobChange) => void>();
  #recorded = 0;

  async record(jobs: readonly NewJob[], claimMs: number): Promise<RecordReceipt[]> {
    const now = Date.now();
    return jobs.map((job) => {
      const known = this.#records.get(job.id);
      if (known && !(known.pendingUntil !== undefined && known.pendingUntil < now)) return { id: job.id, deduplicated: true };
      if (job.deduplicationKey !== undefined) {
        const key = keyOf(job.queue, job.deduplicationKey);
        const holder = this.#holder(key, now);
        if (holder) return { id: holder.id, deduplicated: true };
        this.#keys.set(key, job.id);
      }
      this.#records.set(job.id, {
        id: job.id,
        name: job.name,
        queue: job.queue,
        payloadJson: job.payloadJson,
        maxAttempts: job.maxAttempts,
        enqueuedAt: job.enqueuedAt,
        deduplicationKey: job.deduplicationKey,
        order: ++this.#recorded,
        status: job.runAt !== undefined && job.runAt > now ? "scheduled" : "queued",
        attempt: 0,
        runAt: job.runAt,
        pendingUntil: now + claimMs,
        cancelRequested: false,
        finishedAt: undefined,
        resultJson: undefined,
        error: undefined,
        progressJson: undefined,
      });
      return { id: job.id };
    });
  }

  async confirm(ids: readonly string[]): Promise<void> {
    for (const id of ids) {
      const record = this.#records.get(id);
      if (record) record.pendingUntil = undefined;
    }
  }

  async forget(ids: readonly string[]): Promise<void> {
    for (const id of ids) {
      const record = this.#records.get(id);
      if (!record) continue;
      this.#release(record);
      this.#records.delete(id);
    }
  }

  async begin(starts: readonly JobStart[]): Promise<StartDecision[]> {
    return starts.map((start) => {
      let record = this.#records.get(start.id);
      if (!record) {
        record = this.#unknown(start);
        this.#records.set(start.id, record);
      }
      if (isFinal(record.status)) return { run: false, info: toInfo(record) };
      record.status = "running";
      record.attempt = nextAttempt(record.attempt, start.attempt);
      record.pendingUntil = undefined;
      record.runAt = undefined;
      return { run: true, attempt: record.attempt };
    });
  }

  async settle(outcomes: readonly JobOutcome[], retention?: Retention): Promise<void> {
    const now = Date.now();
    for (const outcome of outcomes) {
      const record = this.#records.get(outcome.id);
      if (!record || isFinal(record.status)) continue;
      if (record.cancelRequested || outcome.status === "cancelled") {
        record.status = "cancelled";
      } else if (outcome.status === "returned") {
        record.status = "queued";
        record.attempt = Math.max(0, record.attempt - 1);
      } else if (outcome.status === "succeeded") {
        record.status = "succeeded";
        record.resultJson = outcome.resultJson;
      } else {
        record.error = outcome.error;
        if (outcome.retryAt === undefined) record.status = "failed";
        else {
          record.status = "scheduled";
          record.runAt = outcome.retryAt;
        }
      }
      if (isFinal(record.status)) this.#finish(record, now, retention);
    }
  }

  async progress(id: string, valueJson: string): Promise<void> {
    const record = this.#records.get(id);
    if (record) record.progressJson = valueJson;
  }

  async get(id: string): Promise<JobInfo | null> {
    const record = this.#records.get(id);
    return record && isLive(record, Date.now()) ? toInfo(record) : null;
  }

  async cancel(id: string, retention?: Retention): Promise<CancelOutcome> {
    const record = this.#records.get(id);
    if (!record || isFinal(record.status)) return false;
    if (record.status === "running") {
      if (!record.cancelRequested) {
        record.cancelRequested = true;
        this.#emit({ id, status: "running", cancelRequested: true });
      }
      return "requested";
    }
    record.status = "cancelled";
    this.#finish(record, Date.now(), retention);
    return "cancelled";
  }

  async watch(listener: (change: JobChange) => void): Promise<() => Promise<void>> {
    this.#listeners.add(listener);
    return async () => {
      this.#listeners.delete(listener);
    };
  }

  async sweep(retention: Retention): Promise<number> {
    const now = Date.now();
    let removed = 0;
    for (const record of this.#records.values()) {
      const expired =
        (record.pendingUntil !== undefined && record.pendingUntil < now) ||
        (record.finishedAt !== undefined &&
          record.finishedAt + (record.status === "succeeded" ? retention.succeededMs : retention.failedMs) < now);
      if (!expired) continue;
      this.#release(record);
      this.#records.delete(record.id);
      removed++;
    }
    return removed;
  }

  async stats(queues?: readonly string[]): Promise<QueueStats[]> {
    const now = Date.now();
    const byQueue = new Map<string, { counts: Record<JobStatus, number>; oldestReadyAt: number }>();
    const entry = (queue: string) => {
      let found = byQueue.get(queue);
      if (!found) {
        found = { counts: { scheduled: 0, queued: 0, running: 0, succeeded: 0, failed: 0, cancelled: 0 }, oldestReadyAt: Infinity };
        byQueue.set(queue, found);
      }
      return found;
    };
    for (const queue of queues ?? []) entry(queue);
    const asked = queues ? new Set(queues) : undefined;
    for (const record of this.#records.values()) {
      if ((asked && !asked.has(record.queue)) || !isLive(record, now)) continue;
      const found = entry(record.queue);
      const status = storedStatus(record.status, record.runAt, now);
      found.counts[status]++;
      if (status === "queued") found.oldestReadyAt = Math.min(found.oldestReadyAt, Math.max(record.enqueuedAt, record.runAt ?? 0));
    }
    // In the order asked for; every queue by name otherwise.
    const entries = queues ? [...byQueue] : [...byQueue].sort(([a], [b]) => a.localeCompare(b));
    return entries.map(([queue, { counts, oldestReadyAt }]) =>
      Number.isFinite(oldestReadyAt) ? { queue, counts, oldestQueuedAgeMs: Math.max(0, now - oldestReadyAt) } : { queue, counts },
    );
  }

  async listJobs(queue: string, options: JobListOptions): Promise<JobPage> {
    const before = options.cursor === undefined ? Infinity : Number(options.cursor);
    if (Number.isNaN(before)) {
      throw new ValidationError(this.name, `cursor "${options.cursor}" was not returned by listJobs; pass the previous page's cursor.`);
    }
    const now = Date.now();
    const matching = [...this.#records.values()].filter(
      (record) =>
        record.queue === queue &&
        record.order < before &&
        isLive(record, now) &&
        (options.status === undefined || storedStatus(record.status, record.runAt, now) === options.status),
    );
    matching.sort((a, b) => b.order - a.order);
    const page = matching.slice(0, options.limit);
    const last = page[page.length - 1];
    const jobs = page.map(toInfo);
    return matching.length > options.limit && last ? { jobs, cursor: String(last.order) } : { jobs };
  }

  async check(): Promise<[]> {
    return [];
  }

  async close(): Promise<void> {
    this.#listeners.clear();
  }

  #holder(key: string, now: number): MemoryRecord | undefined {
    const id = this.#keys.get(key);
    const record = id === undefined ? undefined : this.#records.get(id);
    if (!record || isFinal(record.status) || (record.pendingUntil !== undefined && record.pendingUntil < now)) return undefined;
    return record;
  }

  #finish(record: MemoryRecord, now: number, retention: Retention | undefined): void {
    record.finishedAt = now;
    if (retention) record.expiresAt = now + (record.status === "succeeded" ? retention.succeededMs : retention.failedMs);
    record.cancelRequested = false;
    this.#release(record);
    this.#emit({ id: record.id, status: record.status });
  }

  #release(record: MemoryRecord): void {
    if (record.deduplicationKey === undefined) return;
    const key = keyOf(record.queue, record.deduplicationKey);
    if (this.#keys.get(key) === record.id) this.#keys.delete(key);
  }

  #unknown(start: JobStart): MemoryRecord {
    return {
      id: start.id,
      name: start.name,
      queue: start.queue,
      payloadJson: "null",
      maxAttempts: start.maxAttempts,
      enqueuedAt: Date.now(),
      deduplicationKey: undefined,
      order: ++this.#recorded,
      status: "queued",
      attempt: 0,
      runAt: undefined,
      pendingUntil: undefined,
      cancelRequested: false,
      finishedAt: undefined,
      resultJson: undefined,
      error: undefined,
      progressJson: undefined,
    };
  }

  #emit(change: JobChange): void {
    for (const listener of this.#listeners) listener(change);
  }
}

function keyOf(queue: string, key: string): string {
  return `${queue}\0${key}`;
}

/** A record `get` would read back: not a dead claim, not past its retention. */
function isLive(record: MemoryRecord, now: number): boolean {
  return !(record.pendingUntil !== undefined && record.pendingUntil < now) && !(record.expiresAt !== undefined && record.expiresAt < now);
}

function toInfo(record: MemoryRecord): JobInfo {
  const info: { -readonly [K in keyof JobInfo]: JobInfo[K] } = {
    id: record.id,
    name: record.name,
    queue: record.queue,
    status: storedStatus(record.status, record.runAt, Date.now()),
    payload: JSON.parse(record.payloadJson),
    attempt: record.attempt,
    maxAttempts: record.maxAttempts,
    enqueuedAt: record.enqueuedAt,
  };
  if (record.resultJson !== undefined) info.result = JSON.parse(record.resultJson);
  if (record.error !== undefined) info.error = record.error;
  if (record.progressJson !== undefined) info.progress = JSON.parse(record.progressJson);
  if (record.runAt !== undefined) info.runAt = record.runAt;
  if (record.finishedAt !== undefined) info.finishedAt = record.finishedAt;
  return info;
}
