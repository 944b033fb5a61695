import { DatabaseSync } from "node:sqlite";
import { ValidationError } from "@taskport/core";
import { mainFile } from "./connection.ts";
import { canonicalPath } from "./paths.ts";
import { assertReadable, ensureSchema, installedVersion } from "./schema.ts";
import { isNestedTransaction, ORIGIN } from "./sqlite-errors.ts";
import { Statements } from "./statements.ts";

const USAGE =
  "Pass the app's node:sqlite DatabaseSync, on the adapter's own file, after db.exec('BEGIN IMMEDIATE'): the job is then inserted through it and commits or rolls back with the app's work.";

/** Statements prepared on app handles. */
const prepared = new WeakMap<DatabaseSync, Statements>();

/**
 * The app's handle given as `{ transaction }`, checked: a `DatabaseSync` (the app's connection),
 * open, inside a transaction, on the adapter's file. Anything else is refused before a row is written,
 * since a job written outside the transaction (or into another file) would not share its fate.
 */
export function appTransaction(transaction: unknown, own: { file: string; db?: DatabaseSync }): DatabaseSync {
  if (!(transaction instanceof DatabaseSync)) {
    throw new ValidationError(ORIGIN, `transaction must be a DatabaseSync from node:sqlite, got ${describe(transaction)}. ${USAGE}`);
  }
  if (transaction.isOpen === false) throw new ValidationError(ORIGIN, `the transaction's database handle is closed. ${USAGE}`);
  if (!inTransaction(transaction)) {
    throw new ValidationError(ORIGIN, `the database handle is not inside a transaction, so the job would not wait for a commit. ${USAGE}`);
  }
  if (transaction !== own.db && !sameFile(mainFile(transaction), own.file)) {
    throw new ValidationError(
      ORIGIN,
      `the transaction's database (${mainFile(transaction) || ":memory:"}) is not the adapter's (${own.file || ":memory:"}): a job must be written to the file the workers read. ${USAGE}`,
    );
  }
  return transaction;
}

/** Taskport's statements on the app's handle, creating the tables within the app's transaction if this file has none yet. */
export function statementsOn(db: DatabaseSync): Statements {
  let statements = prepared.get(db);
  if (!statements) {
    const version = installedVersion(db);
    assertReadable(version, mainFile(db));
    ensureSchema(db, version);
    statements = new Statements(db);
    prepared.set(db, statements);
  }
  // The app may roll back: a queue registered in its transaction may not stay registered.
  statements.registered.clear();
  return statements;
}

/** Call `then` once the app's transaction on `db` has ended (committed or rolled back). */
export function afterTransaction(db: DatabaseSync, then: () => void): void {
  // Node before 22.16 cannot tell; the workers' periodic look finds the jobs within a second.
  if (typeof db.isTransaction !== "boolean") return;
  const giveUpAt = Date.now() + 600_000;
  let pause = 1;
  const look = () => {
    if (db.isOpen === false || !db.isTransaction) return then();
    if (Date.now() > giveUpAt) return;
    pause = Math.min(pause * 2, 50);
    setTimeout(look, pause).unref();
  };
  setTimeout(look, 0).unref();
}

function inTransaction(db: DatabaseSync): boolean {
  if (typeof db.isTransaction === "boolean") return db.isTransaction;
  try {
    db.exec("BEGIN");
  } catch (error) {
    if (isNestedTransaction(error)) return true;
    throw error;
  }
  db.exec("ROLLBACK");
  return false;
}

function sameFile(a: string, b: string): boolean {
  return a !== "" && b !== "" && canonicalPath(a) === canonicalPath(b);
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (typeof value !== "object") return typeof value;
  return value.constructor?.name ?? "an object";
}
