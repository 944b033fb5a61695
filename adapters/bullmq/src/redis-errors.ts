import { ConfigurationError, ConnectionError, TaskportError } from "@taskport/core";

/** Turn an ioredis error into a taskport error that says what to do, with no password in it. */
export function explainRedisError(error: unknown, where: string, secrets: readonly string[]): TaskportError {
  if (error instanceof TaskportError) return error;
  const raw = error instanceof Error ? error.message : String(error);
  const message = secrets.reduce((text, secret) => text.split(secret).join("***"), raw);
  if (/WRONGPASS|invalid username-password|invalid password/i.test(message)) {
    return new ConnectionError(
      "bullmq",
      `Redis at ${where} refused the credentials (${message}). Check the user and password in the URL or options.`,
    );
  }
  if (/NOAUTH/i.test(message)) {
    return new ConnectionError(
      "bullmq",
      `Redis at ${where} requires a password (${message}). Put it in the URL: bullmq://:password@host:port/db.`,
    );
  }
  if (/ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ETIMEDOUT|Connection is closed|connect/i.test(message)) {
    return new ConnectionError("bullmq", `cannot reach Redis at ${where} (${message}). Is Redis running there and reachable from here?`);
  }
  if (/DB index is out of range/i.test(message)) {
    return new ConfigurationError(
      "bullmq",
      `Redis at ${where} has no such database (${message}). Use a database number the server has (see its "databases" setting).`,
    );
  }
  return new TaskportError("bullmq", `Redis at ${where} failed: ${message}`);
}
