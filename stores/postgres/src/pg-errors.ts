import { ConfigurationError, ConnectionError, DeadlineError, redactSecrets, TaskportError } from "@taskport/core";
import { ORIGIN } from "./url-options.ts";

/** Where the store connects and what must never be shown, for messages. */
export interface Whereabouts {
  /** The redacted URL, or "the given pool". */
  readonly where: string;
  readonly schema: string;
  /** Passwords (raw and URL-encoded) removed from every driver message. */
  readonly secrets: readonly string[];
  readonly queryTimeoutMs: number;
}

/**
 * Errors worth trying the statement again for at once: it was rolled back whole. Besides deadlocks,
 * a unique violation: two enqueues of one job id at the same instant can both miss each other's
 * row and meet on the primary key instead of the key's index; tried again, the statement finds the
 * other's record and answers with it.
 */
export function isRetryable(error: unknown): boolean {
  return ["40P01", "40001", "23505"].includes(codeOf(error));
}

function codeOf(error: unknown): string {
  return (error as { code?: unknown } | undefined)?.code?.toString() ?? "";
}

function isUnreachable(error: unknown, code: string, message: string): boolean {
  return (
    ["ECONNREFUSED", "ECONNRESET", "EPIPE", "ETIMEDOUT", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH"].includes(code) ||
    code.startsWith("08") ||
    ["57P01", "57P02", "57P03"].includes(code) ||
    (error instanceof Error && /Connection terminated|not queryable|terminating connection|database system is/i.test(message))
  );
}

/** A statement that ran past its deadline: the server's statement_timeout, or pg's own query_timeout. */
function isStatementTimeout(code: string, message: string): boolean {
  return code === "57014" || /Query read timeout/i.test(message);
}

/** A connection that did not open in time (pg's connectionTimeoutMillis, for a new client or from the pool). */
function isConnectTimeout(message: string): boolean {
  return /timeout exceeded when trying to connect|connection timeout/i.test(message);
}

/**
 * Turn a driver error into a named taskport error that says what to do; passwords are removed
 * from the driver's own text, and the cause is not kept (pg errors may carry the connection string).
 */
export function explain(error: unknown, at: Whereabouts): TaskportError {
  if (error instanceof TaskportError) return error;
  const code = codeOf(error);
  const raw = redactSecrets(String((error as Error | undefined)?.message ?? error), at.secrets);
  if (code === "28P01" || code === "28000") {
    return new ConnectionError(ORIGIN, `PostgreSQL at ${at.where} refused the login (${raw}). Check the user and password in the URL.`);
  }
  if (code === "3D000") {
    return new ConfigurationError(
      ORIGIN,
      `the database in ${at.where} does not exist (${raw}). Create it (createdb) or fix the URL's path.`,
    );
  }
  if (code === "42501") {
    return new ConfigurationError(
      ORIGIN,
      `this user may not use or create the schema "${at.schema}" (${raw}). Grant it CREATE on the database once (GRANT CREATE ON DATABASE … TO …), or create the schema as its owner.`,
    );
  }
  if (isStatementTimeout(code, raw)) {
    return new DeadlineError(ORIGIN, "a job store statement", at.where, at.queryTimeoutMs);
  }
  if (isConnectTimeout(raw)) {
    return new ConnectionError(
      ORIGIN,
      `could not connect to PostgreSQL at ${at.where} in time (${raw}). Is the host and port right, and the server up and answering? Raise connectTimeoutMs if it is only slow.`,
    );
  }
  if (isUnreachable(error, code, raw)) {
    return new ConnectionError(
      ORIGIN,
      `cannot reach PostgreSQL at ${at.where} (${code || raw}). Is the server running and the host and port right?`,
    );
  }
  return new ConnectionError(ORIGIN, `PostgreSQL at ${at.where} failed a statement of the job store (${code ? `${code}: ` : ""}${raw}).`);
}
