import { ConfigurationError } from "@taskport/core";
import type pg from "pg";
import { ORIGIN } from "./url-options.ts";

/**
 * Each version's statements, applied in order. A released version is never edited: a change is a
 * new version, so a database moves forward by exactly the steps it lacks.
 */
function migrations(s: string): readonly (readonly string[])[] {
  return [
    // 1: the outbox table. The payload is kept as TEXT, the JSON text core made: it comes back byte
    // for byte (JSONB reorders keys and refuses \u0000). Times are epoch ms, as core hands them over.
    [
      `CREATE TABLE IF NOT EXISTS ${s}.outbox (
        id text PRIMARY KEY,
        seq bigserial NOT NULL,
        target text NOT NULL,
        name text NOT NULL,
        queue text NOT NULL,
        payload text NOT NULL,
        priority integer NOT NULL,
        run_at bigint,
        max_attempts integer NOT NULL,
        deduplication_key text,
        timeout_ms double precision,
        headers text,
        enqueued_at bigint NOT NULL,
        inserted_at timestamptz NOT NULL DEFAULT now()
      )`,
      // A relay claims its target's oldest rows by this index; it deletes them, and `refresh()`
      // looks a waiting job up, by the primary key. Two indexes in all: each row costs little.
      `CREATE INDEX IF NOT EXISTS outbox_target_seq ON ${s}.outbox (target, seq)`,
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
 * Create or upgrade the outbox's tables, safely when many processes start at once: the version is
 * read first (no DDL, no lock when it is current), and only a database that lacks a step takes a
 * transaction-scoped advisory lock and applies the missing steps. The version table has a name of
 * its own, so that the outbox can share a schema with the job store.
 */
export async function ensureSchema(pool: pg.Pool, schema: string): Promise<void> {
  const s = quoted(schema);
  const present = await pool.query("SELECT to_regclass($1) IS NOT NULL AS present", [`${s}.outbox_schema_version`]);
  if (present.rows[0]?.present) {
    const { rows } = await pool.query(`SELECT coalesce(max(version), 0)::int AS version FROM ${s}.outbox_schema_version`);
    if (refuseNewer(schema, rows[0]?.version ?? 0) === SCHEMA_VERSION) return;
  }
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    await client.query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", [`taskport.postgres-outbox.${schema}`]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${s}`);
    await client.query(`CREATE TABLE IF NOT EXISTS ${s}.outbox_schema_version (
      version integer PRIMARY KEY,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
    const { rows } = await client.query(`SELECT coalesce(max(version), 0)::int AS version FROM ${s}.outbox_schema_version`);
    const current = refuseNewer(schema, rows[0]?.version ?? 0);
    const steps = migrations(s);
    for (let version = current + 1; version <= steps.length; version++) {
      for (const statement of steps[version - 1] ?? []) await client.query(statement);
      await client.query(`INSERT INTO ${s}.outbox_schema_version (version) VALUES ($1)`, [version]);
    }
    await client.query("COMMIT");
    client.release();
  } catch (error) {
    await client.query("ROLLBACK").catch(() => {});
    client.release(true);
    throw error;
  }
}

/** A schema written by a newer release is not touched: its rows may mean more than this one knows. */
function refuseNewer(schema: string, version: number): number {
  if (version > SCHEMA_VERSION) {
    throw new ConfigurationError(
      ORIGIN,
      `the outbox in schema "${schema}" has version ${version}, newer than this package's ${SCHEMA_VERSION}. Upgrade @taskport/postgres-outbox in this app.`,
    );
  }
  return version;
}
