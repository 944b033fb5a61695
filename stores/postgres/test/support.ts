import pg from "pg";
import { PostgresStore } from "../src/index.ts";

export const DATABASE_URL = process.env.TASKPORT_PG_URL ?? "postgres://postgres@127.0.0.1:5432/test";

/** A store over `schema`: stores of one schema share their records, as processes sharing a database do. */
export function storeIn(schema: string, options: { applicationName?: string } = {}): PostgresStore {
  const url = new URL(DATABASE_URL);
  url.searchParams.set("schema", schema);
  return new PostgresStore({ url, ...options });
}

/** Drop a test's schema and everything in it. */
export async function dropSchema(schema: string): Promise<void> {
  await admin(async (client) => {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  });
}

/** Run `work` on a connection of its own, closed afterwards. */
export async function admin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: DATABASE_URL });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** Terminate the connections whose application_name is exactly `name`, returning how many. */
export async function terminateConnections(name: string): Promise<number> {
  return admin(async (client) => {
    const { rows } = await client.query(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid()",
      [name],
    );
    return rows.length;
  });
}

/**
 * The store of an engine + store conformance run: adapters created for one test share one schema,
 * as the processes of one app share a database; the harness's cleanup drops it.
 */
export function conformanceStore(testId: string): PostgresStore {
  return storeIn(`tps_${testId}`, { applicationName: `tp-${testId}` });
}

/** The cleanup half of {@link conformanceStore}. */
export function dropConformanceStore(testId: string): Promise<void> {
  return dropSchema(`tps_${testId}`);
}
