import { ConfigurationError, ConnectionError, DeadlineError, redactSecrets, TaskportError } from "@taskport/core";
import { ORIGIN } from "./url-options.ts";

/** Where the outbox connects and what must never be shown, for messages. */
export interface Whereabouts {
  /** The redacted URL. */
  readonly where: string;
  readonly schema: string;
  /** Passwords (raw and URL-encoded) removed from every driver message. */
  readonly secrets: readonly string[];
  /** The statement deadline (`timeouts.operationMs`), for the error that says it passed. */
  readonly operationMs: number;
}

function codeOf(error: unknown): string {
  return (error as { code?: unknown } | undefined)?.code?.toString() ?? "";
}

function isUnreachable(code: string, message: string): boolean {
  return (
    ["ECONNREFUSED", "ECONNRESET", "EPIPE", "ETIMEDOUT", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH"].includes(code) ||
    code.startsWith("08") ||
    ["57P01", "57P02", "57P03"].includes(code) ||
    /Connection terminated|not queryable|terminating connection|database system is|timeout exceeded when trying to connect/i.test(message)
  );
}

/**
 * Turn a driver error met on the outbox's own connections into a named taskport error that says
 * what to do; passwords are removed from the driver's text, and the cause is not kept (pg errors
 * may carry the connection string).
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
  // The server's statement_timeout, or pg's query_timeout for a server that does not answer at all.
  if (code === "57014" || /Query read timeout/i.test(raw)) {
    return new DeadlineError(ORIGIN, "an outbox statement", at.where, at.operationMs);
  }
  if (isUnreachable(code, raw)) {
    return new ConnectionError(
      ORIGIN,
      `cannot reach PostgreSQL at ${at.where} (${code || raw}). Is the server running and the host and port right?`,
    );
  }
  return new ConnectionError(ORIGIN, `PostgreSQL at ${at.where} failed a statement of the outbox (${code ? `${code}: ` : ""}${raw}).`);
}

/**
 * An insert into the caller's transaction failed: the transaction is the caller's, so is most of
 * what can go wrong with it; say which part is the outbox's.
 */
export function explainInsert(error: unknown, at: Whereabouts): TaskportError {
  if (error instanceof TaskportError) return error;
  const code = codeOf(error);
  const raw = redactSecrets(String((error as Error | undefined)?.message ?? error), at.secrets);
  if (code === "42P01" || code === "3F000") {
    return new ConfigurationError(
      ORIGIN,
      `the outbox table "${at.schema}".outbox is not in the database of your transaction (${raw}), though it is in ${at.where}: ` +
        "the outbox URL must name the database your transactions run on. Nothing was enqueued.",
    );
  }
  if (code === "25P02") {
    return new ConnectionError(
      ORIGIN,
      `your transaction had already failed before the jobs were written (${raw}); roll it back and run it again. Nothing was enqueued.`,
    );
  }
  if (isUnreachable(code, raw)) {
    return new ConnectionError(
      ORIGIN,
      `the connection of your transaction was lost while the jobs were written (${raw}). Nothing was enqueued.`,
    );
  }
  return new ConnectionError(
    ORIGIN,
    `writing the jobs into your transaction failed (${code ? `${code}: ` : ""}${raw}). Nothing was enqueued; roll the transaction back.`,
  );
}
