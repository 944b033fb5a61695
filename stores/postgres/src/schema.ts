import { ConfigurationError } from "@taskport/core";
import type { Database } from "./database.ts";
import { ORIGIN } from "./url-options.ts";

/** Statuses a job never leaves, as SQL: its key is free and its retention has started. */
export const FINAL_SQL = "('succeeded', 'failed', 'cancelled')";

/**
 * Each version's statements, applied in order. A released version is never edited: a change is a
 * new version, so a database moves forward by exactly the steps it lacks.
 */
function migrations(s: string): readonly (readonly string[])[] {
  return [
    // 1: the jobs table. JSON is kept as TEXT, not JSONB: it comes back byte for byte (JSONB
    // reorders keys and refuses \u0000). Times are timestamptz so the table reads well in psql.
    [
      `CREATE TABLE IF NOT EXISTS ${s}.jobs (
        id uuid PRIMARY KEY,
        queue text NOT NULL,
        name text NOT NULL,
        status text NOT NULL CHECK (status IN ('scheduled', 'queued', 'running', 'succeeded', 'failed', 'cancelled')),
        payload text NOT NULL,
        attempt integer NOT NULL DEFAULT 0,
        max_attempts integer NOT NULL,
        dedup_key text,
        cancel_requested boolean NOT NULL DEFAULT false,
        run_at timestamptz,
        enqueued_at timestamptz NOT NULL,
        pending_until timestamptz,
        claimed_by uuid,
        finished_at timestamptz,
        result text,
        error text,
        progress text
      )`,
      // A key is held while its job has not finished; a pending record whose claim ran out is
      // taken over by the next enqueue with its key (see statements.ts, record).
      `CREATE UNIQUE INDEX IF NOT EXISTS jobs_dedup_key ON ${s}.jobs (queue, dedup_key)
        WHERE dedup_key IS NOT NULL AND status NOT IN ${FINAL_SQL}`,
      `CREATE INDEX IF NOT EXISTS jobs_finished_at ON ${s}.jobs (finished_at) WHERE finished_at IS NOT NULL`,
      `CREATE INDEX IF NOT EXISTS jobs_pending_until ON ${s}.jobs (pending_until) WHERE pending_until IS NOT NULL`,
      // The few running jobs whose cancel was asked for, read again after a LISTEN connection was lost.
      `CREATE INDEX IF NOT EXISTS jobs_cancel_requested ON ${s}.jobs (id) WHERE cancel_requested`,
    ],
  ];
}

/** The version this package writes and reads. */
export const SCHEMA_VERSION = migrations("s").length;

/** `"schema"`: names are validated on input, and quoted so that case is kept. */
export function quoted(schema: string): string {
  return `"${schema}"`;
}

/**
 * Create or upgrade the schema, once per store and safely when many processes start at once: the
 * version is read first (no DDL, no lock when it is current), and only a database that lacks a
 * step takes a transaction-scoped advisory lock and applies the missing steps.
 */
export async function ensureSchema(db: Database, schema: string): Promise<void> {
  if ((await installedVersion(db, schema)) === SCHEMA_VERSION) return;
  const s = quoted(schema);
  await db.transaction(async (query) => {
    await query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", [`taskport.postgres-store.${schema}`]);
    await query(`CREATE SCHEMA IF NOT EXISTS ${s}`);
    await query(`CREATE TABLE IF NOT EXISTS ${s}.schema_version (
      version integer PRIMARY KEY,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
    const rows = (await query(`SELECT coalesce(max(version), 0) AS version FROM ${s}.schema_version`)) as { version: number }[];
    const current = rows[0]?.version ?? 0;
    refuseNewer(schema, current);
    const steps = migrations(s);
    for (let version = current + 1; version <= steps.length; version++) {
      for (const statement of steps[version - 1] ?? []) await query(statement);
      await query(`INSERT INTO ${s}.schema_version (version) VALUES ($1)`, [version]);
    }
  });
}

/** The version recorded in the schema: 0 when it has none yet. */
export async function installedVersion(db: Database, schema: string): Promise<number> {
  const [present] = await db.query<{ present: boolean }>("SELECT to_regclass($1) IS NOT NULL AS present", [
    `${quoted(schema)}.schema_version`,
  ]);
  if (!present?.present) return 0;
  const [row] = await db.query<{ version: number }>(`SELECT coalesce(max(version), 0) AS version FROM ${quoted(schema)}.schema_version`);
  const version = row?.version ?? 0;
  refuseNewer(schema, version);
  return version;
}

function refuseNewer(schema: string, version: number): void {
  if (version > SCHEMA_VERSION) {
    throw new ConfigurationError(
      ORIGIN,
      `the schema "${schema}" was written by a newer @taskport/postgres-store (schema version ${version}; this one knows ${SCHEMA_VERSION}). Upgrade the package to the version the other services use, or point this app at another schema.`,
    );
  }
}
