import { randomUUID } from "node:crypto";
import {
  type ConsumeOptions,
  type Consumer,
  type DeliveryHandler,
  isFinal,
  type JobChange,
  type JobStatus,
  logger,
  type Settlement,
  TaskportError,
} from "@taskport/core";
import type { ChangeMonitor } from "./change-monitor.ts";
import { claimJobs, mayClaim, nextDueAt } from "./claim.ts";
import { HeldJob } from "./delivery.ts";
import type { FileSignals, WorkSignal } from "./file-signals.ts";
import { ORIGIN } from "./sqlite-errors.ts";
import type { ClaimedRow, Statements } from "./statements.ts";

/** What a consumer needs from its adapter. */
export interface ConsumerHost {
  /** Run `work` in a write transaction, waiting while another connection holds the lock. */
  write<T>(work: (s: Statements) => T): Promise<T>;
  read<T>(work: (s: Statements) => T): Promise<T>;
  readonly signals: FileSignals;
  readonly monitor: ChangeMonitor;
  readonly leaseMs: number;
  /** Tell this process (`job.wait()`) that jobs reached a final status. */
  ended(changes: readonly JobChange[]): void;
  /** Delete finished jobs past their retention, at most once a second whoever asks. */
  sweep(): Promise<void>;
  release(consumer: SqliteConsumer): void;
}

interface Outcome {
  readonly job: HeldJob;
  readonly settlement: Settlement;
}

/** Longest single timer: a delayed job due next year re-arms, since `setTimeout` overflows past ~24.8 days. */
const MAX_TIMER_MS = 3_600_000;

/**
 * One `consume` call: a worker's slots over some queues of one file. Each round of its pump — at
 * most one per event-loop turn — writes the outcomes of the jobs that finished since the last round
 * and claims as many jobs as slots are free, in one transaction: 50 jobs finishing together cost
 * one commit, not 50. Between rounds it sleeps until something may be claimable: an enqueue of this
 * process (at once), another connection's commit (the monitor, within `pollIntervalMs`), or the due
 * time of its next delayed job.
 */
export class SqliteConsumer implements Consumer {
  readonly #host: ConsumerHost;
  readonly #queues: readonly string[];
  readonly #concurrency: number;
  readonly #handler: DeliveryHandler;
  readonly #onError: (error: Error) => void;
  /** This consumer's lease token: only it may settle or extend the jobs it leased. */
  readonly #owner = randomUUID();
  readonly #held = new Map<number, HeldJob>();
  #outcomes: Outcome[] = [];
  /** Something may be claimable. */
  #wanted = true;
  /** …but only another connection's commit said so: look before taking the write lock. */
  #probe = false;
  #scheduled = false;
  #pumping = false;
  #again = false;
  #retryMs = 0;
  /** Handler bodies running on past their job's settlement: each still holds its slot. */
  #overrunning = 0;
  #stopped = false;
  #halted = false;
  #idle: (() => void)[] = [];
  #dueTimer: NodeJS.Timeout | undefined;
  #dueAt = Number.POSITIVE_INFINITY;
  #leaseTimer: NodeJS.Timeout | undefined;
  readonly #unsubscribe: (() => void)[] = [];

  constructor(host: ConsumerHost, options: ConsumeOptions, handler: DeliveryHandler) {
    this.#host = host;
    this.#queues = [...new Set(options.queues)];
    this.#concurrency = options.concurrency;
    this.#handler = handler;
    this.#onError = options.onError ?? ((error) => logger().error({ error }, error.message));
    this.#unsubscribe.push(
      host.signals.work.on((signal) => this.#onWork(signal)),
      host.signals.cancel.on((id) => {
        for (const job of this.#held.values()) if (job.id === id) void this.#checkCancels();
      }),
      host.monitor.subscribe((kind) => {
        this.#onForeignChange();
        // Once a second or so: delete finished jobs past their retention (the adapter does it once for all its workers).
        if (kind === "periodic") void host.sweep().catch((error: unknown) => this.#report(error));
      }, true),
    );
    // The first round runs on a later turn, after the caller of startWorker() attached its listeners.
    this.#schedule();
  }

  // ── waking up ───────────────────────────────────────────────────────────────

  #onWork(signal: WorkSignal): void {
    if (this.#stopped) return;
    for (const queue of this.#queues) {
      if (signal.ready.has(queue)) {
        this.#wanted = true;
        this.#probe = false;
        this.#schedule();
      }
      const due = signal.due.get(queue);
      if (due !== undefined && due < this.#dueAt) this.#armDue(due);
    }
  }

  #onForeignChange(): void {
    if (this.#held.size > 0) void this.#checkCancels();
    if (this.#stopped || this.#wanted) return;
    this.#wanted = true;
    this.#probe = true;
    this.#schedule();
  }

  #armDue(at: number): void {
    clearTimeout(this.#dueTimer);
    this.#dueAt = at;
    const wait = Math.min(Math.max(at - Date.now(), 0), MAX_TIMER_MS);
    this.#dueTimer = setTimeout(() => {
      this.#dueTimer = undefined;
      this.#dueAt = Number.POSITIVE_INFINITY;
      this.#wanted = true;
      this.#probe = false;
      this.#schedule();
    }, wait);
    this.#dueTimer.unref(); // the monitor's timer keeps a worker's process alive
  }

  async #rearmDue(): Promise<void> {
    const at = await this.#host.read((s) => nextDueAt(s, this.#queues));
    if (at === undefined) {
      clearTimeout(this.#dueTimer);
      this.#dueTimer = undefined;
      this.#dueAt = Number.POSITIVE_INFINITY;
    } else if (at !== this.#dueAt || this.#dueTimer === undefined) this.#armDue(at);
  }

  // ── the pump ────────────────────────────────────────────────────────────────

  #schedule(): void {
    if (this.#scheduled || this.#halted) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      void this.#pump();
    });
  }

  async #pump(): Promise<void> {
    if (this.#pumping) {
      this.#again = true;
      return;
    }
    this.#pumping = true;
    try {
      do {
        this.#again = false;
        await this.#round();
      } while (this.#again && !this.#halted);
    } finally {
      this.#pumping = false;
    }
  }

  /** Write the outcomes gathered so far and claim into the free slots, in one transaction. */
  async #round(): Promise<void> {
    if (this.#halted) return;
    const outcomes = this.#outcomes;
    this.#outcomes = [];
    const free = this.#stopped ? 0 : this.#concurrency - this.#held.size - this.#overrunning + outcomes.length;
    const claiming = free > 0 && this.#wanted;
    if (outcomes.length === 0 && !claiming) return this.#maybeIdle();
    try {
      if (claiming && this.#probe && outcomes.length === 0) {
        const found = await this.#host.read((s) => mayClaim(s, this.#queues, Date.now()));
        this.#probe = false;
        if (!found) {
          this.#wanted = false;
          await this.#rearmDue();
          return;
        }
      }
      const owner = this.#owner;
      const leaseMs = this.#host.leaseMs;
      const { ended, rows } = await this.#host.write((s) => {
        const now = Date.now();
        const ended = writeOutcomes(s, outcomes, owner, now);
        if (!claiming) return { ended, rows: [] as ClaimedRow[] };
        const claim = claimJobs(s, this.#queues, free, owner, now, now + leaseMs);
        ended.push(...claim.ended);
        return { ended, rows: claim.rows };
      });
      this.#retryMs = 0;
      for (const { job } of outcomes) this.#held.delete(job.seq);
      if (ended.length > 0) this.#host.ended(ended);
      if (this.#halted) return;
      if (claiming) {
        // A full batch may have left more behind; a short one emptied the queues for now.
        this.#wanted = rows.length >= free;
        if (!this.#wanted) await this.#rearmDue();
        for (const row of rows) this.#deliver(row);
      }
      if (this.#outcomes.length > 0 || (this.#wanted && !this.#stopped && this.#held.size + this.#overrunning < this.#concurrency))
        this.#again = true;
      this.#maybeIdle();
    } catch (error) {
      // Nothing was written: the outcomes wait for the next round, which comes after a pause.
      this.#outcomes = outcomes.concat(this.#outcomes);
      this.#report(error);
      this.#retryMs = Math.min(Math.max(this.#retryMs * 2, 50), 2_000);
      setTimeout(() => this.#schedule(), this.#retryMs).unref();
    }
  }

  #deliver(row: ClaimedRow): void {
    const job = new HeldJob(row, (held, valueJson) => this.#saveProgress(held, valueJson));
    this.#held.set(job.seq, job);
    this.#leaseTimer ??= setInterval(() => void this.#extendLeases(), Math.max(10, Math.floor(this.#host.leaseMs / 3)));
    this.#handler(job).then(
      (settlement) => {
        if (job.dropped || this.#halted) return;
        if (settlement.slotFreed) this.#holdSlot(settlement.slotFreed);
        this.#outcomes.push({ job, settlement });
        this.#schedule();
      },
      (error: unknown) => this.#report(error), // a handler never rejects; the lease brings the job back if one does
    );
  }

  /** A body deaf to its timeout keeps its slot after its job settles: nothing is claimed for it until it ends. */
  #holdSlot(freed: Promise<void>): void {
    this.#overrunning++;
    void freed.then(() => {
      this.#overrunning--;
      this.#schedule();
    });
  }

  async #saveProgress(job: HeldJob, valueJson: string): Promise<void> {
    await this.#host.write((s) => s.progress.run(valueJson, job.seq, this.#owner, job.attempt));
  }

  // ── leases and cancels of running jobs ──────────────────────────────────────

  /** Push the lease of every held job forward; a job whose lease was lost is aborted and not settled. */
  async #extendLeases(): Promise<void> {
    if (this.#held.size === 0) {
      clearInterval(this.#leaseTimer);
      this.#leaseTimer = undefined;
      return;
    }
    try {
      const kept = await this.#host.write((s) => s.extendLeases.all(Date.now() + this.#host.leaseMs, this.#owner) as { seq: number }[]);
      const mine = new Set(kept.map((row) => row.seq));
      for (const job of this.#held.values()) {
        if (mine.has(job.seq) || job.dropped) continue;
        job.dropped = true;
        this.#held.delete(job.seq);
        job.abort(new DOMException(`the lease of job ${job.id} ran out and another worker may run it now`, "AbortError"));
      }
      this.#maybeIdle();
    } catch (error) {
      this.#report(error);
    }
  }

  async #checkCancels(): Promise<void> {
    try {
      const rows = await this.#host.read((s) => s.cancelRequests.all(this.#owner) as { seq: number }[]);
      for (const { seq } of rows)
        this.#held.get(seq)?.abort(new DOMException(`job ${this.#held.get(seq)?.id} was cancelled`, "AbortError"));
    } catch (error) {
      this.#report(error);
    }
  }

  // ── stopping ────────────────────────────────────────────────────────────────

  stop(): Promise<void> {
    this.#stopped = true;
    if (this.#held.size === 0 && this.#outcomes.length === 0) {
      this.#release();
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      this.#idle.push(resolve);
      this.#schedule();
    });
  }

  /** Give every held job back at once (not counted as an attempt), keeping the outcomes already known. */
  async abandon(): Promise<void> {
    this.#stopped = true;
    const outcomes = this.#outcomes;
    this.#outcomes = [];
    const settled = new Set(outcomes.map((outcome) => outcome.job));
    const unsettled = [...this.#held.values()].filter((job) => !settled.has(job));
    for (const job of this.#held.values()) job.dropped = true;
    this.#held.clear();
    try {
      const ended = await this.#host.write((s) => {
        const now = Date.now();
        const ended = writeOutcomes(s, outcomes, this.#owner, now);
        for (const job of unsettled) {
          const row = s.giveBack.get(now, now, job.seq, this.#owner, job.attempt) as { state: JobStatus } | undefined;
          if (row?.state === "cancelled") ended.push({ id: job.id, status: "cancelled" });
        }
        return ended;
      });
      if (ended.length > 0) this.#host.ended(ended);
      this.#host.signals.work.emit({ ready: new Set(unsettled.map((job) => job.queue)), due: new Map() });
    } catch (error) {
      this.#report(error); // their leases run out and another worker takes them then
    }
    this.#release();
  }

  /**
   * Stop at once and write nothing, as a process that dies would: the held jobs come back when their
   * lease runs out, and that start counts as an attempt. What a crash looks like to the engine; for
   * tests of crash recovery.
   */
  halt(): void {
    this.#halted = true;
    this.#stopped = true;
    for (const job of this.#held.values()) job.dropped = true;
    this.#held.clear();
    this.#outcomes = [];
    this.#release();
  }

  #maybeIdle(): void {
    if (this.#stopped && this.#held.size === 0 && this.#outcomes.length === 0) this.#release();
  }

  #release(): void {
    clearTimeout(this.#dueTimer);
    clearInterval(this.#leaseTimer);
    this.#dueTimer = this.#leaseTimer = undefined;
    for (const off of this.#unsubscribe.splice(0)) off();
    this.#host.release(this);
    for (const resolve of this.#idle.splice(0)) resolve();
  }

  #report(error: unknown): void {
    const wrapped = error instanceof Error ? error : new TaskportError(ORIGIN, String(error));
    this.#onError(wrapped);
  }
}

/** Make the outcomes durable; returns the jobs that reached a final status. Only this lease's attempt is touched. */
function writeOutcomes(s: Statements, outcomes: readonly Outcome[], owner: string, now: number): JobChange[] {
  const ended: JobChange[] = [];
  for (const { job, settlement } of outcomes) {
    let row: { state: JobStatus } | undefined;
    if (settlement.status === "succeeded") {
      row = s.succeed.get(settlement.resultJson, now, now, job.seq, owner, job.attempt) as typeof row;
    } else if (settlement.retryInMs !== undefined) {
      const retryAt = now + settlement.retryInMs;
      const later = retryAt > now ? 1 : 0;
      row = s.retry.get(later, retryAt, JSON.stringify(settlement.error), now, now, job.seq, owner, job.attempt) as typeof row;
    } else {
      row = s.fail.get(JSON.stringify(settlement.error), now, now, job.seq, owner, job.attempt) as typeof row;
    }
    if (row && isFinal(row.state)) ended.push({ id: job.id, status: row.state });
  }
  return ended;
}
