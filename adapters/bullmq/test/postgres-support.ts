import * as bullmq from "bullmq";
import pg from "pg";
import { BullMQAdapter, type BullMQAdapterOptions } from "../src/index.ts";
import { TEST_LOCK_MS } from "./support.ts";

export const DATABASE_URL = process.env.TASKPORT_PG_URL ?? "postgres://postgres@127.0.0.1:5432/test";

/** BullMQ's tables for these tests, apart from its default schema `bullmq` and from pg-boss's. */
export const TEST_SCHEMA = "tp_bullmq";

/** BullMQ 6.7 added the PostgreSQL backend; the run on the oldest BullMQ of the peer range has none. */
export const HAS_POSTGRES_BACKEND = typeof (bullmq as { createPostgresBackend?: unknown }).createPostgresBackend === "function";

/** The application_name of a test's connections (BullMQ renames its workers' LISTEN connections, keeping it inside). */
export function clientNameOf(testId: string): string {
  return `tp-${testId.replace(/[^!-~]/g, "_")}`;
}

export function postgresTestAdapter(testId: string, connectionString = DATABASE_URL, options: BullMQAdapterOptions = {}): BullMQAdapter {
  return new BullMQAdapter({
    // Small pools: PostgreSQL's 100 connections are shared by every file running at once.
    postgres: { connectionString, schema: TEST_SCHEMA, migrate: true, max: 4 },
    lockDurationMs: TEST_LOCK_MS,
    stalledIntervalMs: 1_000,
    clientName: clientNameOf(testId),
    ...options,
  });
}

/** Terminate the connections whose application_name contains `name` (ours only), returning how many. */
export async function terminateConnections(name: string): Promise<number> {
  const client = new pg.Client({ connectionString: DATABASE_URL });
  await client.connect();
  try {
    const { rows } = await client.query(
      "SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE strpos(application_name, $1) > 0 AND pid <> pg_backend_pid()",
      [name],
    );
    return rows.length;
  } finally {
    await client.end();
  }
}
