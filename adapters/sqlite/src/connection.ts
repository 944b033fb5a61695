import { DatabaseSync, type StatementSync } from "node:sqlite";
import { assertReadable, ensureSchema, installedVersion, SCHEMA_VERSION } from "./schema.ts";
import { HandleInTransaction, isBusy, isNestedTransaction } from "./sqlite-errors.ts";
import { Statements } from "./statements.ts";

/**
 * How long one statement may wait inside SQLite for another connection's lock, in ms. SQLite waits
 * by sleeping the thread, which for Node is the event loop: a lock held by this same process (the
 * app's transaction, open across an `await`) can then never be released. So SQLite waits a little,
 * and longer waits happen between tries, in `whenFree`, with the event loop running.
 */
const WAIT_INSIDE_SQLITE_MS = 10;

/** An open database handle with taskport's statements prepared on it. */
export class Connection {
  readonly db: DatabaseSync;
  readonly statements: Statements;
  /** Absolute path of the file; empty for an in-memory database. */
  readonly file: string;
  /** Whether `close()` closes the handle: not when the app gave it. */
  readonly owned: boolean;
  /** `wal`, or what SQLite kept instead (`memory` for an in-memory database). */
  readonly journalMode: string;
  readonly #dataVersion: StatementSync;

  constructor(db: DatabaseSync, owned: boolean) {
    this.db = db;
    this.owned = owned;
    this.file = mainFile(db);
    this.journalMode = String((db.prepare("PRAGMA journal_mode").get() as { journal_mode: string }).journal_mode);
    this.statements = new Statements(db);
    this.#dataVersion = db.prepare("PRAGMA data_version");
  }

  /**
   * Open `filename`, switch it to WAL (readers never wait for the writer; several processes may
   * share the file) and create taskport's tables where missing. Retries while another connection
   * holds the lock, until `busyTimeoutMs`.
   */
  static async open(filename: string, busyTimeoutMs: number, synchronous: "normal" | "full"): Promise<Connection> {
    const db = new DatabaseSync(filename);
    try {
      db.exec(`PRAGMA busy_timeout = ${Math.min(WAIT_INSIDE_SQLITE_MS, busyTimeoutMs)}`);
      await whenFree(() => db.exec("PRAGMA journal_mode = WAL"), busyTimeoutMs);
      db.exec(`PRAGMA synchronous = ${synchronous === "full" ? "FULL" : "NORMAL"}`);
      await whenFree(() => migrate(db, filename), busyTimeoutMs);
      return new Connection(db, true);
    } catch (error) {
      db.close();
      throw error;
    }
  }

  /** Use the app's own handle: taskport's tables are created where missing; the handle stays the app's. */
  static async adopt(db: DatabaseSync, busyTimeoutMs: number): Promise<Connection> {
    const current = db.prepare("PRAGMA busy_timeout").get() as { timeout: number } | undefined;
    if (!current?.timeout) db.exec(`PRAGMA busy_timeout = ${Math.min(WAIT_INSIDE_SQLITE_MS, busyTimeoutMs)}`);
    await whenFree(() => {
      if (db.isTransaction === true) throw new HandleInTransaction();
      db.exec("PRAGMA journal_mode = WAL");
    }, busyTimeoutMs);
    await whenFree(() => migrate(db, mainFile(db) || ":memory:"), busyTimeoutMs);
    return new Connection(db, false);
  }

  /**
   * Run `work` in a write transaction (`BEGIN IMMEDIATE`: the lock is taken first, so the work never
   * fails half-way for want of it). Throws `HandleInTransaction` or a busy error to be retried.
   */
  transaction<T>(work: (s: Statements) => T): T {
    begin(this.db);
    try {
      const out = work(this.statements);
      this.db.exec("COMMIT");
      return out;
    } catch (error) {
      rollback(this.db);
      this.statements.registered.clear(); // a queue registered in the rolled-back work is not there
      throw error;
    }
  }

  /** Changes when another connection (another process, or another handle here) commits. */
  dataVersion(): number {
    return Number((this.#dataVersion.get() as { data_version: number }).data_version);
  }

  close(): void {
    if (this.owned && this.db.isOpen !== false) this.db.close();
  }
}

function begin(db: DatabaseSync): void {
  if (db.isTransaction === true) throw new HandleInTransaction();
  try {
    db.exec("BEGIN IMMEDIATE");
  } catch (error) {
    // Node before 22.16 has no isTransaction: the refused BEGIN tells the same.
    throw isNestedTransaction(error) ? new HandleInTransaction() : error;
  }
}

function rollback(db: DatabaseSync): void {
  try {
    db.exec("ROLLBACK");
  } catch {
    // SQLite already rolled back (it does after some errors, such as a full disk).
  }
}

function migrate(db: DatabaseSync, file: string): void {
  const version = installedVersion(db);
  assertReadable(version, file);
  if (version === SCHEMA_VERSION) return;
  begin(db);
  try {
    const current = installedVersion(db); // another process may have done it meanwhile
    assertReadable(current, file);
    ensureSchema(db, current);
    db.exec("COMMIT");
  } catch (error) {
    rollback(db);
    throw error;
  }
}

/** The absolute path SQLite resolved for the handle's main database; empty when in memory. */
export function mainFile(db: DatabaseSync): string {
  const rows = db.prepare("PRAGMA database_list").all() as { name: string; file: string }[];
  return rows.find((row) => row.name === "main")?.file ?? "";
}

/** Retry `attempt` while the database is locked by another connection, without blocking the event loop. */
export async function whenFree<T>(attempt: () => T, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let pause = 1;
  for (;;) {
    try {
      return attempt();
    } catch (error) {
      if (!(isBusy(error) || error instanceof HandleInTransaction) || Date.now() >= deadline) throw error;
    }
    await new Promise((resolve) => setTimeout(resolve, pause));
    pause = Math.min(pause * 2, 50);
  }
}
