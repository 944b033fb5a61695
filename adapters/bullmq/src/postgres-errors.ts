import { ConfigurationError, ConnectionError, TaskportError } from "@taskport/core";

/**
 * Turn an error of BullMQ's PostgreSQL backend or of node-postgres into a taskport error that says
 * what to do, with no password in it.
 */
export function explainPostgresError(error: unknown, where: string, schema: string, secrets: readonly string[]): TaskportError {
  if (error instanceof TaskportError) return error;
  const raw = error instanceof Error ? error.message : String(error);
  const message = secrets.reduce((text, secret) => text.split(secret).join("***"), raw);
  const name = (error as { name?: string } | undefined)?.name;
  const code = (error as { code?: string } | undefined)?.code;
  if (name === "SchemaMigrationRequiredError") {
    return new ConfigurationError(
      "bullmq",
      `BullMQ's schema "${schema}" is not set up in PostgreSQL at ${where}. Run BullMQ's migrations once from a deployment step (runMigrations, see BullMQ's PostgreSQL guide), or add ?migrate=true to the URL.`,
      { cause: error },
    );
  }
  if (
    name === "UnsupportedPostgresVersionError" ||
    name === "SchemaVersionMismatchError" ||
    /invalid PostgreSQL schema name/.test(message)
  ) {
    return new ConfigurationError("bullmq", `PostgreSQL at ${where}: ${message}`, { cause: error });
  }
  if (code === "28P01" || code === "28000") {
    return new ConnectionError(
      "bullmq",
      `PostgreSQL at ${where} refused the credentials (${message}). Check the user and password in the URL.`,
      {
        cause: error,
      },
    );
  }
  if (code === "3D000") {
    return new ConfigurationError("bullmq", `PostgreSQL at ${where} has no such database (${message}). Create it, or fix the URL's path.`, {
      cause: error,
    });
  }
  if (/ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ENETUNREACH|EAI_AGAIN|ETIMEDOUT|timeout expired/i.test(message)) {
    return new ConnectionError(
      "bullmq",
      `cannot reach PostgreSQL at ${where} (${message}). Is PostgreSQL running there and reachable from here?`,
      {
        cause: error,
      },
    );
  }
  if (/ECONNRESET|EPIPE|terminat|Connection ended|socket hang up/i.test(message)) {
    return new ConnectionError("bullmq", `the connection to PostgreSQL at ${where} was cut (${message}).`, { cause: error });
  }
  return new ConnectionError("bullmq", `PostgreSQL at ${where} refused the call (${message}). Check the server's log and health.`, {
    cause: error,
  });
}
