import { ConfigurationError, ConnectionError, TaskportError } from "@taskport/core";

/**
 * Turn an ioredis error into a taskport error that says what to do, with no password in it. Every
 * error becomes one of the documented subclasses, never a bare `TaskportError`.
 */
export function explainRedisError(error: unknown, where: string, secrets: readonly string[]): TaskportError {
  if (error instanceof TaskportError) return error;
  const raw = error instanceof Error ? error.message : String(error);
  // ioredis asks for a report of a reply it cannot parse; here that means another service answered.
  const message = secrets.reduce((text, secret) => text.split(secret).join("***"), raw).replace(/\s*Please report this\.?/, "");
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
  if (/DB index is out of range/i.test(message)) {
    return new ConfigurationError(
      "bullmq",
      `Redis at ${where} has no such database (${message}). Use a database number the server has (see its "databases" setting).`,
    );
  }
  if (/NOPERM|no permissions/i.test(message)) {
    return new ConfigurationError(
      "bullmq",
      `the Redis user may not run a command BullMQ needs at ${where} (${message}). Grant it in the user's ACL, e.g. +@all on ~<prefix>:*.`,
    );
  }
  if (/^READONLY/i.test(message)) {
    return new ConfigurationError("bullmq", `Redis at ${where} is a read-only replica (${message}). Point the URL at the primary.`);
  }
  // Another service on the port: its first bytes are not a Redis reply.
  if (/Unknown RESP type|Protocol error|unexpected reply/i.test(message)) {
    return new ConnectionError(
      "bullmq",
      `the server at ${where} does not speak the Redis protocol (${message}). Is the port right? Redis listens on 6379 unless configured otherwise.`,
    );
  }
  if (/^OOM/i.test(message)) {
    return new ConnectionError(
      "bullmq",
      `Redis at ${where} is out of memory and refuses writes (${message}). Free memory or raise maxmemory; BullMQ needs maxmemory-policy noeviction.`,
    );
  }
  if (/ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ENETUNREACH|EAI_AGAIN|ETIMEDOUT|Connection is closed|connect/i.test(message)) {
    return new ConnectionError("bullmq", `cannot reach Redis at ${where} (${message}). Is Redis running there and reachable from here?`);
  }
  if (/ECONNRESET|EPIPE|Stream isn't writeable|socket hang up/i.test(message)) {
    return new ConnectionError(
      "bullmq",
      `the connection to ${where} was cut (${message}). Is Redis running there, and not another service on that port?`,
    );
  }
  // Any other error Redis replied with: the engine refused the call.
  return new ConnectionError("bullmq", `Redis at ${where} refused the call (${message}). Check the server's log and health.`);
}

/** `error` (as explained) with advice appended to its message; the same class, so callers can still tell them apart. */
export function withAdvice(error: TaskportError, advice: string, cause: unknown): TaskportError {
  const message = `${error.message.replace(/^\[taskport\] \[[^\]]+\] /, "")}${advice}`;
  return error instanceof ConfigurationError
    ? new ConfigurationError(error.origin, message, { cause })
    : new ConnectionError(error.origin, message, { cause });
}
