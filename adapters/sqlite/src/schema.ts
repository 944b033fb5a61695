import type { DatabaseSync } from "node:sqlite";
import { ConfigurationError } from "@taskport/core";
import { ORIGIN } from "./sqlite-errors.ts";

/** The version of the tables below; a file written by a newer version of this package is refused. */
export const SCHEMA_VERSION = 2;

/**
 * The tables taskport keeps in the file, all named `taskport_…` so they can sit beside the app's own
 * (that is what lets an enqueue join the app's transaction). Jobs keep their state in one table:
 *
 * - `state` is one of `scheduled` (due later), `queued`, `running`, `succeeded`, `failed`
 *   (the dead letters) or `cancelled`; a `scheduled` job past its `run_at` is reported as `queued`
 *   and moved there by the next worker that looks.
 * - `id` carries the row number `seq` (see job-ids.ts), so ids need no index of their own.
 * - Each index is partial, over the jobs of one state, so that it serves one query and stays small:
 *   workers take jobs from `taskport_jobs_ready` in priority, then due-time, then insertion order
 *   (the rowid `seq`), and never scan delayed or finished jobs.
 * - A job that finishes gets `expires_at` from the retention it was enqueued with (`keep_…_ms`):
 *   past it the job reads as gone, and workers delete it.
 * - A deduplication key is unique among a queue's jobs that have not finished (`taskport_jobs_dedup`):
 *   held until its job finishes for good, then free again.
 */
const TABLES = `
CREATE TABLE IF NOT EXISTS taskport_jobs (
  seq INTEGER PRIMARY KEY,
  id TEXT NOT NULL,
  queue TEXT NOT NULL,
  name TEXT NOT NULL,
  payload TEXT NOT NULL,
  priority INTEGER NOT NULL,
  state TEXT NOT NULL,
  run_at INTEGER NOT NULL,
  attempt INTEGER NOT NULL DEFAULT 0,
  max_attempts INTEGER NOT NULL,
  timeout_ms INTEGER,
  headers TEXT,
  dedup_key TEXT,
  enqueued_at INTEGER NOT NULL,
  keep_succeeded_ms INTEGER NOT NULL,
  keep_failed_ms INTEGER NOT NULL,
  lease_owner TEXT,
  lease_until INTEGER,
  cancel_requested INTEGER NOT NULL DEFAULT 0,
  result TEXT,
  error TEXT,
  progress TEXT,
  finished_at INTEGER,
  expires_at INTEGER
);
CREATE INDEX IF NOT EXISTS taskport_jobs_ready ON taskport_jobs (queue, priority DESC, run_at) WHERE state = 'queued';
CREATE INDEX IF NOT EXISTS taskport_jobs_due ON taskport_jobs (queue, run_at) WHERE state = 'scheduled';
CREATE INDEX IF NOT EXISTS taskport_jobs_leased ON taskport_jobs (lease_until) WHERE state = 'running';
CREATE INDEX IF NOT EXISTS taskport_jobs_finished ON taskport_jobs (queue, state, finished_at) WHERE finished_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS taskport_jobs_expiring ON taskport_jobs (expires_at) WHERE expires_at IS NOT NULL;
CREATE UNIQUE INDEX IF NOT EXISTS taskport_jobs_dedup ON taskport_jobs (queue, dedup_key)
  WHERE dedup_key IS NOT NULL AND state IN ('scheduled', 'queued', 'running');
CREATE TABLE IF NOT EXISTS taskport_queues (
  queue TEXT PRIMARY KEY,
  paused INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
`;

const META = "CREATE TABLE IF NOT EXISTS taskport_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID";

/** The schema version written in the file, or undefined when taskport has not written there yet. */
export function installedVersion(db: DatabaseSync): number | undefined {
  const table = db.prepare("SELECT 1 AS found FROM sqlite_schema WHERE type = 'table' AND name = 'taskport_meta'").get();
  if (!table) return undefined;
  const row = db.prepare("SELECT value FROM taskport_meta WHERE key = 'schema_version'").get();
  return row ? Number(row.value) : undefined;
}

/** Refuse a file written by a newer version of this package, whose tables this one cannot read. */
export function assertReadable(version: number | undefined, file: string): void {
  if (version !== undefined && version > SCHEMA_VERSION) {
    throw new ConfigurationError(
      ORIGIN,
      `${file} holds taskport tables of schema version ${version}, newer than this @taskport/sqlite understands (${SCHEMA_VERSION}). Upgrade @taskport/sqlite in this app.`,
    );
  }
}

/**
 * What brings a file from one version to the next, by the version it starts from. Version 1 had
 * no retention columns, an index on ids, and ids of version 7 (without the row number).
 */
const UPGRADES: Readonly<Record<number, string>> = {
  1: `
ALTER TABLE taskport_jobs ADD COLUMN keep_succeeded_ms INTEGER NOT NULL DEFAULT 86400000;
ALTER TABLE taskport_jobs ADD COLUMN keep_failed_ms INTEGER NOT NULL DEFAULT 604800000;
ALTER TABLE taskport_jobs ADD COLUMN expires_at INTEGER;
UPDATE taskport_jobs SET expires_at = finished_at + CASE WHEN state = 'succeeded' THEN keep_succeeded_ms ELSE keep_failed_ms END
  WHERE finished_at IS NOT NULL;
UPDATE taskport_jobs SET id = substr(id, 1, 14) || '8' || substr(id, 16, 9) || printf('%012x', seq);
DROP INDEX IF EXISTS taskport_jobs_id;
`,
};

/**
 * Bring the file to this version: create the tables where taskport has not written yet, else apply
 * the upgrades from `version` on. The caller holds a write transaction (taskport's, or the app's).
 */
export function ensureSchema(db: DatabaseSync, version: number | undefined): void {
  if (version === SCHEMA_VERSION) return;
  if (version !== undefined) for (let from = version; from < SCHEMA_VERSION; from++) db.exec(UPGRADES[from] as string);
  db.exec(META);
  db.exec(TABLES);
  db.prepare(
    "INSERT INTO taskport_meta (key, value) VALUES ('schema_version', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
  ).run(String(SCHEMA_VERSION));
}
