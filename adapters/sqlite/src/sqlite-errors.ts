import { ConfigurationError, ConnectionError, TaskportError } from "@taskport/core";

export const ORIGIN = "sqlite";

/** SQLite's primary result codes that the adapter tells apart (the low byte of an extended code). */
const SQLITE_BUSY = 5;
const SQLITE_LOCKED = 6;
const SQLITE_READONLY = 8;
const SQLITE_CORRUPT = 11;
const SQLITE_FULL = 13;
const SQLITE_CANTOPEN = 14;
const SQLITE_NOTADB = 26;

/** The primary result code of an error thrown by `node:sqlite`, or undefined for any other error. */
export function sqliteCode(error: unknown): number | undefined {
  const code = (error as { errcode?: unknown } | null)?.errcode;
  return typeof code === "number" ? code & 0xff : undefined;
}

/** Another connection holds the write lock: worth trying again a little later. */
export function isBusy(error: unknown): boolean {
  const code = sqliteCode(error);
  return code === SQLITE_BUSY || code === SQLITE_LOCKED;
}

/** `BEGIN` on a handle whose own transaction is open (a handle shared with the app). */
export function isNestedTransaction(error: unknown): boolean {
  return error instanceof Error && /within a transaction/.test(error.message);
}

/** The handle is inside a transaction that is not taskport's (a handle shared with the app): try later. */
export class HandleInTransaction extends Error {}

/** A `node:sqlite` error as a taskport error that says what happened to which file and what to do. */
export function explain(error: unknown, file: string, busyTimeoutMs: number): TaskportError {
  if (error instanceof TaskportError) return error;
  const detail = error instanceof Error ? error.message : String(error);
  const options = { cause: error };
  if (error instanceof HandleInTransaction) {
    return new ConnectionError(
      ORIGIN,
      `the database handle shared with the app stayed inside one of the app's transactions for ${busyTimeoutMs} ms, so taskport could not write to ${file}. Keep transactions short, or give taskport a handle of its own.`,
      options,
    );
  }
  switch (sqliteCode(error)) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return new ConnectionError(
        ORIGIN,
        `${file} stayed locked by another connection for ${busyTimeoutMs} ms (${detail}). A transaction of the app or of another process holds it too long: keep write transactions short, or raise busyTimeoutMs.`,
        options,
      );
    case SQLITE_CANTOPEN:
      return new ConnectionError(
        ORIGIN,
        `cannot open ${file} (${detail}). Check that its folder exists and that this process may write there (SQLite also writes ${file}-wal and ${file}-shm beside it).`,
        options,
      );
    case SQLITE_READONLY:
      return new ConnectionError(
        ORIGIN,
        `${file} is read-only for this process (${detail}). Give it write permission on the file and its folder.`,
        options,
      );
    case SQLITE_FULL:
      return new ConnectionError(
        ORIGIN,
        `the disk holding ${file} is full (${detail}). Free space; finished jobs are deleted after their retention.`,
        options,
      );
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return new ConfigurationError(
        ORIGIN,
        `${file} is not a usable SQLite database (${detail}). Point the URL at another file; restore this one from a backup.`,
        options,
      );
    default:
      return new ConnectionError(ORIGIN, `${file}: ${detail}`, options);
  }
}
