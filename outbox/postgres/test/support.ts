import pg from "pg";

export const DATABASE_URL = process.env.TASKPORT_PG_URL ?? "postgres://postgres@127.0.0.1:5432/test";

/** One schema for every test of this package: each test's rows carry its own target. */
export const TEST_SCHEMA = "taskport_outbox_test";

/** Run `work` on a `pg` client inside BEGIN, then COMMIT or ROLLBACK: the app's own transaction. */
export async function inTransaction(outcome: "commit" | "rollback", work: (client: pg.Client) => Promise<void>): Promise<void> {
  const client = new pg.Client({ connectionString: DATABASE_URL, application_name: "tp-outbox-test-app" });
  await client.connect();
  try {
    await client.query("BEGIN");
    await work(client);
    await client.query(outcome === "commit" ? "COMMIT" : "ROLLBACK");
  } finally {
    await client.end();
  }
}

/** Run one statement on a short-lived connection of its own. */
export async function sql<Row = Record<string, unknown>>(text: string, values: unknown[] = []): Promise<Row[]> {
  const client = new pg.Client({ connectionString: DATABASE_URL });
  await client.connect();
  try {
    return (await client.query(text, values)).rows as Row[];
  } finally {
    await client.end();
  }
}

/** Rows of `target` still in the outbox (none before any outbox has created the table). */
export async function rowsOf(target: string): Promise<number> {
  if (!(await outboxTableExists())) return 0;
  const [row] = await sql<{ n: number }>(`SELECT count(*)::int AS n FROM ${TEST_SCHEMA}.outbox WHERE target = $1`, [target]);
  return row?.n ?? 0;
}

/** Delete what a test left in the outbox under its target. */
export async function deleteRowsOf(target: string): Promise<void> {
  if (await outboxTableExists()) await sql(`DELETE FROM ${TEST_SCHEMA}.outbox WHERE target = $1`, [target]);
}

async function outboxTableExists(): Promise<boolean> {
  const [row] = await sql<{ present: boolean }>("SELECT to_regclass($1) IS NOT NULL AS present", [`${TEST_SCHEMA}.outbox`]);
  return row?.present === true;
}

/** Terminate the connections whose application_name is exactly `name` (ours only), returning how many. */
export async function terminateConnections(name: string): Promise<number> {
  const rows = await sql(
    "SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid()",
    [name],
  );
  return rows.length;
}
