import { randomUUID } from "node:crypto";
import { resolve } from "node:path";
import type { DatabaseSync } from "node:sqlite";
import {
  type Adapter,
  type Capabilities,
  type CheckProblem,
  ConfigurationError,
  type ConsumeOptions,
  type Consumer,
  DEFAULT_RETENTION,
  type DeliveryHandler,
  type EnqueueContext,
  type EnqueueReceipt,
  type JobChange,
  type JobInfo,
  type JobListOptions,
  type JobPage,
  type NewJob,
  type QueueStats,
  TaskportError,
} from "@taskport/core";
import { afterTransaction, appTransaction, statementsOn } from "./app-transaction.ts";
import { ChangeMonitor } from "./change-monitor.ts";
import { Connection, whenFree } from "./connection.ts";
import { type ConsumerHost, SqliteConsumer } from "./consumer.ts";
import { acquireSignals, type FileSignals, releaseSignals } from "./file-signals.ts";
import { type Inserted, insertJobs } from "./insert-jobs.ts";
import { jobPage, queueStats } from "./inspection.ts";
import { seqOf } from "./job-ids.ts";
import { toJobInfo } from "./job-rows.ts";
import type { SqliteAdapterOptions } from "./options.ts";
import { canonicalPath } from "./paths.ts";
import { sweep } from "./retention.ts";
import { explain, ORIGIN } from "./sqlite-errors.ts";
import type { JobRow, Statements } from "./statements.ts";
import { parseUrlOptions } from "./url-options.ts";

const CAPABILITIES: Capabilities = Object.freeze({
  delay: true,
  priority: true,
  results: true,
  cancel: true,
  cancelRunning: true,
  deduplication: "until-finished",
  nativeBulkEnqueue: true,
  transactions: true,
  ordering: "fifo",
  progress: true,
  deadLetter: true,
  // A start whose lease ran out counts as an attempt; a crashed last attempt gets one extra start,
  // and the job fails as WorkerLostError if that one dies too (statements.ts, recoverExpired).
  crashCountsAsAttempt: true,
  headers: true,
  retention: true,
  stats: true,
  listJobs: true,
  redrive: true,
  discardDeadLetters: true,
  pause: true,
});

/**
 * taskport's durable embedded engine: jobs in a SQLite file, through Node's own `node:sqlite`.
 * Several processes may share the file (workers claim jobs in `BEGIN IMMEDIATE` transactions and
 * hold them under leases that run out if the worker dies); a worker is woken at once by enqueues of
 * its own process and finds other processes' within `pollIntervalMs`. Nothing is opened until the
 * first call that needs the file.
 */
export class SqliteAdapter implements Adapter {
  readonly name = ORIGIN;
  readonly capabilities: Capabilities;
  readonly #filename: string;
  readonly #database: DatabaseSync | undefined;
  readonly #busyTimeoutMs: number;
  readonly #leaseMs: number;
  readonly #synchronous: "normal" | "full";
  readonly #monitor: ChangeMonitor;
  readonly #consumers = new Set<SqliteConsumer>();
  readonly #host: ConsumerHost;
  #connection: Connection | undefined;
  #opening: Promise<Connection> | undefined;
  #signals: { key: string; signals: FileSignals } | undefined;
  #closed = false;
  #sweeping: Promise<unknown> | undefined;
  #lastSweep = 0;

  constructor(options: SqliteAdapterOptions) {
    if ((options.filename === undefined) === (options.database === undefined)) {
      throw new ConfigurationError(
        ORIGIN,
        "give one of filename (a path, or ':memory:') and database (an open DatabaseSync): new SqliteAdapter({ filename: './jobs.db' }).",
      );
    }
    this.#filename = options.filename ?? "";
    this.#database = options.database;
    this.#busyTimeoutMs = options.busyTimeoutMs ?? 5_000;
    this.#leaseMs = Math.max(options.leaseMs ?? 30_000, 30);
    this.#synchronous = options.synchronous ?? "normal";
    this.capabilities =
      options.maxPayloadBytes === undefined ? CAPABILITIES : Object.freeze({ ...CAPABILITIES, maxPayloadBytes: options.maxPayloadBytes });
    this.#monitor = new ChangeMonitor(() => this.#current(), options.pollIntervalMs ?? 50);
    const adapter = this;
    this.#host = {
      write: (work) => this.#write(work),
      read: (work) => this.#read(work),
      get signals() {
        return adapter.#fileSignals();
      },
      monitor: this.#monitor,
      leaseMs: this.#leaseMs,
      ended: (changes) => this.#ended(changes),
      sweep: () => this.#sweep(),
      release: (consumer) => this.#consumers.delete(consumer as SqliteConsumer),
    };
  }

  /** The database as named in messages. */
  get #where(): string {
    if (this.#connection?.file) return this.#connection.file;
    if (this.#database) return "the app's database";
    return this.#filename;
  }

  /**
   * The open handle (opening the file on the first call), for the app's own statements in the same
   * file, and for transactions that enqueue: `BEGIN IMMEDIATE` on it, then `{ transaction: db }`.
   */
  async database(): Promise<DatabaseSync> {
    return (await this.#ready()).db;
  }

  // ── connection ──────────────────────────────────────────────────────────────

  #ready(): Promise<Connection> {
    if (this.#connection) return Promise.resolve(this.#connection);
    if (this.#closed) return Promise.reject(new ConfigurationError(ORIGIN, "this adapter was closed; create a new one."));
    this.#opening ??= this.#open().then(
      (connection) => {
        this.#opening = undefined;
        if (this.#closed) {
          connection.close();
          throw new ConfigurationError(ORIGIN, "this adapter was closed while opening its database; create a new one.");
        }
        this.#connection = connection;
        return connection;
      },
      (error: unknown) => {
        this.#opening = undefined;
        throw explain(error, this.#where, this.#busyTimeoutMs);
      },
    );
    return this.#opening;
  }

  async #open(): Promise<Connection> {
    const connection = this.#database
      ? await Connection.adopt(this.#database, this.#busyTimeoutMs)
      : await Connection.open(this.#filename, this.#busyTimeoutMs, this.#synchronous);
    if (!this.#signals) {
      // Every adapter of this process on the same file shares its signals; an in-memory database is its own.
      const key = connection.file ? canonicalPath(connection.file) : `memory:${randomUUID()}`;
      this.#signals = { key, signals: acquireSignals(key) };
    }
    return connection;
  }

  /** The open connection for the monitor; a closed one (after `reopen`) is opened again in the background. */
  #current(): Connection | undefined {
    if (!this.#connection && !this.#closed) this.#ready().catch(() => {});
    return this.#connection;
  }

  #fileSignals(): FileSignals {
    if (!this.#signals) throw new Error("the adapter's database is not open yet");
    return this.#signals.signals;
  }

  async #write<T>(work: (s: Statements) => T): Promise<T> {
    const first = this.#connection ?? (await this.#ready());
    try {
      return await whenFree(() => (this.#connection ?? first).transaction(work), this.#busyTimeoutMs);
    } catch (error) {
      throw explain(error, this.#where, this.#busyTimeoutMs);
    }
  }

  async #read<T>(work: (s: Statements) => T): Promise<T> {
    const first = this.#connection ?? (await this.#ready());
    try {
      return await whenFree(() => work((this.#connection ?? first).statements), this.#busyTimeoutMs);
    } catch (error) {
      throw explain(error, this.#where, this.#busyTimeoutMs);
    }
  }

  // ── enqueue ─────────────────────────────────────────────────────────────────

  async enqueue(jobs: readonly NewJob[], context: EnqueueContext): Promise<EnqueueReceipt[]> {
    if (context.transaction !== undefined) return this.#enqueueInAppTransaction(jobs, context.transaction, context.retention);
    const retention = context.retention ?? DEFAULT_RETENTION;
    const inserted = await this.#write((s) => insertJobs(s, jobs, Date.now(), retention));
    this.#announce(inserted);
    return inserted.receipts;
  }

  /** Insert through the app's handle inside its open transaction; workers hear of it once it ends. */
  #enqueueInAppTransaction(jobs: readonly NewJob[], transaction: unknown, retention = DEFAULT_RETENTION): EnqueueReceipt[] {
    if (this.#closed) throw new ConfigurationError(ORIGIN, "this adapter was closed; create a new one.");
    const ownDb = this.#connection?.db ?? this.#database;
    const file = this.#connection?.file ?? (this.#database || this.#filename === ":memory:" ? "" : resolve(this.#filename));
    const db = appTransaction(transaction, ownDb ? { file, db: ownDb } : { file });
    let inserted: Inserted;
    try {
      inserted = insertJobs(db === this.#connection?.db ? this.#connection.statements : statementsOn(db), jobs, Date.now(), retention);
    } catch (error) {
      throw explain(error, this.#where, this.#busyTimeoutMs);
    }
    afterTransaction(db, () => {
      if (this.#signals) this.#announce(inserted);
    });
    return inserted.receipts;
  }

  #announce(inserted: Inserted): void {
    if (inserted.ready.size > 0 || inserted.due.size > 0) this.#fileSignals().work.emit(inserted);
  }

  #ended(changes: readonly JobChange[]): void {
    const signals = this.#fileSignals();
    for (const change of changes) signals.finished.emit(change);
  }

  // ── working ─────────────────────────────────────────────────────────────────

  async consume(options: ConsumeOptions, handler: DeliveryHandler): Promise<Consumer> {
    await this.#ready();
    const consumer = new SqliteConsumer(this.#host, options, handler);
    this.#consumers.add(consumer);
    return consumer;
  }

  /**
   * Delete finished jobs past their retention now (the backend's `retention`, kept with each job);
   * workers do it every second or so. Returns how many went.
   */
  async sweep(): Promise<number> {
    return sweep(
      (work) => this.#read(work),
      (work) => this.#write(work),
    );
  }

  /** At most one sweep a second per adapter, however many of its workers ask. */
  async #sweep(): Promise<void> {
    if (this.#sweeping || Date.now() - this.#lastSweep < 1_000) return;
    this.#lastSweep = Date.now();
    this.#sweeping = this.sweep().finally(() => {
      this.#sweeping = undefined;
    });
    await this.#sweeping;
  }

  // ── reading and operating ───────────────────────────────────────────────────

  async getJob(id: string, queue: string): Promise<JobInfo | null> {
    const seq = seqOf(id);
    if (seq === undefined) return null;
    const row = await this.#read((s) => s.byId.get(seq, id) as JobRow | undefined);
    const now = Date.now();
    if (!row || row.queue !== queue || (row.expires_at !== null && row.expires_at <= now)) return null;
    return toJobInfo(row, now);
  }

  /** Cancel a job that has not finished: one that has not started never will; a running one is aborted. */
  async cancel(id: string, queue: string): Promise<boolean> {
    const seq = seqOf(id);
    if (seq === undefined) return false;
    const outcome = await this.#write((s) => {
      const now = Date.now();
      if (s.cancelWaiting.run(now, now, seq, id, queue).changes > 0) return "cancelled";
      if (s.requestCancel.run(seq, id, queue).changes > 0) return "requested";
      return false;
    });
    if (outcome === "cancelled") this.#ended([{ id, status: "cancelled" }]);
    if (outcome === "requested") this.#fileSignals().cancel.emit(id);
    return outcome !== false;
  }

  async listDeadLetters(queue: string, limit = 100): Promise<JobInfo[]> {
    const now = Date.now();
    const rows = await this.#read((s) => s.deadLetters.all(queue, now, limit) as unknown as JobRow[]);
    return rows.map((row) => toJobInfo(row, now));
  }

  async stats(queues?: readonly string[]): Promise<QueueStats[]> {
    return this.#read((s) => queueStats(s, queues, Date.now()));
  }

  async listJobs(queue: string, options: JobListOptions): Promise<JobPage> {
    return this.#read((s) => jobPage(s, queue, options, Date.now()));
  }

  async redrive(queue: string, ids?: readonly string[]): Promise<number> {
    const sent = await this.#write((s) => {
      const now = Date.now();
      if (!ids) return Number(s.redriveAll.run(now, queue).changes);
      let count = 0;
      for (const id of new Set(ids)) {
        const seq = seqOf(id);
        if (seq !== undefined) count += Number(s.redriveOne.run(now, queue, seq, id).changes);
      }
      return count;
    });
    if (sent > 0) this.#announce({ receipts: [], ready: new Set([queue]), due: new Map() });
    return sent;
  }

  async discardDeadLetters(queue: string, ids?: readonly string[]): Promise<number> {
    return this.#write((s) => {
      const now = Date.now();
      if (!ids) return Number(s.discardAll.run(queue, now).changes);
      let count = 0;
      for (const id of new Set(ids)) {
        const seq = seqOf(id);
        if (seq !== undefined) count += Number(s.discardOne.run(queue, now, seq, id).changes);
      }
      return count;
    });
  }

  async pause(queue: string): Promise<void> {
    await this.#write((s) => s.setPaused.run(queue, 1));
  }

  async resume(queue: string): Promise<void> {
    await this.#write((s) => s.setPaused.run(queue, 0));
    this.#announce({ receipts: [], ready: new Set([queue]), due: new Map() });
  }

  async check(): Promise<CheckProblem[]> {
    try {
      const connection = await this.#ready();
      if (connection.file && connection.journalMode !== "wal") {
        return [
          {
            message: `[taskport] [${ORIGIN}] ${connection.file} could not be switched to WAL mode (it is in "${connection.journalMode}" mode): workers would block enqueues while they claim. A network file system cannot hold a WAL database; use a local disk.`,
          },
        ];
      }
      return [];
    } catch (error) {
      return [{ message: error instanceof TaskportError ? error.message : explain(error, this.#where, this.#busyTimeoutMs).message }];
    }
  }

  /**
   * Report jobs reaching a final status: at once for this process's workers and cancels, within
   * `pollIntervalMs` for other processes' (a scan of the jobs finished since the last look).
   */
  async watch(listener: (change: JobChange) => void): Promise<() => Promise<void>> {
    await this.#ready();
    const offSignals = this.#fileSignals().finished.on(listener);
    let since = Date.now();
    let scanning = false;
    const scan = async () => {
      if (scanning) return;
      scanning = true;
      // A job finished just before another process committed it carries an earlier time: look back a little.
      const from = since - 100;
      since = Date.now();
      try {
        const changes = await this.#read((s) => {
          const found: JobChange[] = [];
          for (const { queue } of s.knownQueues.all() as { queue: string }[]) {
            for (const state of ["succeeded", "failed", "cancelled"] as const) {
              for (const row of s.finishedSince.all(queue, state, from) as { id: string }[]) found.push({ id: row.id, status: state });
            }
          }
          return found;
        });
        for (const change of changes) listener(change);
      } catch {
        // A wake-up is an optimisation: waiters look again on their own within a second.
      } finally {
        scanning = false;
      }
    };
    const offMonitor = this.#monitor.subscribe(() => void scan(), false);
    return async () => {
      offSignals();
      offMonitor();
    };
  }

  // ── lifecycle ───────────────────────────────────────────────────────────────

  /**
   * Close the file and open it again at the next use, as a restart of the process would, without
   * stopping this adapter's workers: what the conformance suite's restart test does to an embedded
   * engine. Not for a `database` the app gave, nor an in-memory one (closing it loses it).
   */
  async reopen(): Promise<void> {
    if (this.#database || this.#filename === ":memory:") {
      throw new ConfigurationError(ORIGIN, "reopen() closes a file the adapter opened itself; this one is the app's handle or in memory.");
    }
    const connection = this.#connection ?? (await this.#opening?.catch(() => undefined));
    this.#connection = undefined;
    connection?.close();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const connection = this.#connection ?? (await this.#opening?.catch(() => undefined));
    this.#monitor.stop();
    this.#connection = undefined;
    connection?.close();
    if (this.#signals) releaseSignals(this.#signals.key, this.#signals.signals);
  }
}

/** Build an adapter from `sqlite:./jobs.db?leaseMs=…` (the URL scheme registry calls this). */
export function createAdapter(url: URL): SqliteAdapter {
  return new SqliteAdapter(parseUrlOptions(url));
}
