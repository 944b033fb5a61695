import { execSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import pg from "pg";

export const DATABASE_URL = process.env.TASKPORT_PG_URL ?? "postgres://postgres@127.0.0.1:5432/test";

/**
 * One schema for all conformance runs: pg-boss installs ~20 indexes per schema, too slow per test.
 * The run on the oldest pg-boss of the peer range has its own: pg-boss migrates a schema forward,
 * and an older pg-boss must not meet one a newer version installed.
 */
export const CONFORMANCE_SCHEMA =
  process.env.TASKPORT_ENGINE_VERSIONS === "oldest" ? "taskport_conformance_oldest" : "taskport_conformance";

/**
 * How to restart the server: `TASKPORT_PG_RESTART` (a shell command) if set; a Debian cluster
 * (`pg_ctlcluster`) where there is one; otherwise the repository's docker-compose service.
 */
function restartCommand(): string {
  if (process.env.TASKPORT_PG_RESTART) return process.env.TASKPORT_PG_RESTART;
  if (existsSync("/etc/postgresql")) {
    const version = readdirSync("/etc/postgresql")[0] as string;
    return `pg_ctlcluster --skip-systemctl-redirect ${version} main restart`;
  }
  return "docker compose restart postgres";
}

/** Restart PostgreSQL and resolve once it answers again. Always leaves it running. */
export async function restartPostgres(): Promise<void> {
  execSync(restartCommand(), { stdio: "ignore", timeout: 60_000 });
  const deadline = Date.now() + 60_000;
  for (;;) {
    const client = new pg.Client({ connectionString: DATABASE_URL });
    try {
      await client.connect();
      await client.query("SELECT 1");
      await client.end();
      return;
    } catch (error) {
      await client.end().catch(() => {});
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}

/** Terminate the connections whose application_name is exactly `name` (ours only), returning how many. */
export async function terminateConnections(name: string): Promise<number> {
  const client = new pg.Client({ connectionString: DATABASE_URL });
  await client.connect();
  try {
    const { rows } = await client.query(
      "SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid()",
      [name],
    );
    return rows.length;
  } finally {
    await client.end();
  }
}

/** The conformance harness's `transaction`: `work` runs in a transaction of its own connection, then commits or rolls back. */
export async function inTransaction(
  _adapter: unknown,
  outcome: "commit" | "rollback",
  work: (client: pg.Client) => Promise<void>,
): Promise<void> {
  const client = new pg.Client({ connectionString: DATABASE_URL });
  await client.connect();
  try {
    await client.query("BEGIN");
    await work(client);
    await client.query(outcome === "commit" ? "COMMIT" : "ROLLBACK");
  } finally {
    await client.end();
  }
}
