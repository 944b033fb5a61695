import { ConfigurationError, ConnectionError, redactSecrets, TaskportError } from "@taskport/core";
import { STORE_NAME } from "./store-name.ts";

/**
 * Turn an ioredis error into a taskport error that says what to do, with no password in it.
 * ioredis hangs the failed command on its errors (`command: { name, args }`, and for AUTH the
 * arguments are the user and password), so the raw error is never kept as the cause: the cause is
 * a copy that carries only the redacted message and the error's name and code.
 */
export function explainRedisError(error: unknown, where: string, secrets: readonly string[]): TaskportError {
  if (error instanceof TaskportError) return error;
  const code = String((error as { code?: unknown } | undefined)?.code ?? "");
  const message = redactSecrets(error instanceof Error ? error.message : String(error), secrets);
  const cause = redactedCopy(error, message, code);
  if (/WRONGPASS|invalid username-password|invalid password/i.test(message)) {
    return new ConnectionError(
      STORE_NAME,
      `Redis at ${where} refused the credentials (${message}). Check the user and password in the store URL.`,
      { cause },
    );
  }
  if (/NOAUTH/i.test(message)) {
    return new ConnectionError(
      STORE_NAME,
      `Redis at ${where} requires a password (${message}). Put it in the store URL: redis://:password@host:6379/0.`,
      { cause },
    );
  }
  if (/DB index is out of range/i.test(message)) {
    return new ConfigurationError(
      STORE_NAME,
      `Redis at ${where} has no such database (${message}). Use a database number the server has (its "databases" setting).`,
      { cause },
    );
  }
  if (/Command timed out/i.test(message)) {
    return new ConnectionError(
      STORE_NAME,
      `Redis at ${where} did not answer in time (${message}). Is it overloaded or unreachable? The deadline is commandTimeoutMs.`,
      { cause },
    );
  }
  if (
    /ECONNREFUSED|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ETIMEDOUT|ECONNRESET|EPIPE|Connection is closed|connect|Reached the max retries/i.test(
      `${code} ${message}`,
    )
  ) {
    return new ConnectionError(STORE_NAME, `cannot reach Redis at ${where} (${message}). Is Redis running there and reachable from here?`, {
      cause,
    });
  }
  return new TaskportError(STORE_NAME, `Redis at ${where} failed: ${message}`, { cause });
}

function redactedCopy(error: unknown, message: string, code: string): Error {
  const copy = new Error(message);
  copy.name = error instanceof Error ? error.name : "Error";
  if (code) Object.assign(copy, { code });
  return copy;
}
