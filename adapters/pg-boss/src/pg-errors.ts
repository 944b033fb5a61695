import { ConfigurationError, ConnectionError, type TaskportError } from "@taskport/core";

/** PostgreSQL and socket failures that mean "the server is gone for now": worth a retry. */
export function isTransient(error: unknown): boolean {
  const code = (error as { code?: string } | undefined)?.code ?? "";
  const message = String((error as Error | undefined)?.message ?? "");
  return (
    ["ECONNREFUSED", "ECONNRESET", "EPIPE", "ETIMEDOUT", "57P01", "57P02", "57P03", "08000", "08003", "08006", "08001", "08004"].includes(
      code,
    ) ||
    /Connection terminated|connection timeout|Client has encountered a connection error|terminating connection|the database system is (starting up|shutting down)/i.test(
      message,
    )
  );
}

/**
 * Turn a driver error met while connecting or installing the schema into a named taskport error
 * that says what to do. `where` is the redacted URL; `secrets` are removed from driver messages.
 */
export function explainConnectError(error: unknown, where: string, schema: string, secrets: readonly string[]): TaskportError {
  const code = (error as { code?: string } | undefined)?.code ?? "";
  const raw = redact(String((error as Error | undefined)?.message ?? error), secrets);
  if (code === "28P01" || code === "28000") {
    return new ConnectionError("pg-boss", `PostgreSQL at ${where} refused the login (${raw}). Check the user and password in the URL.`, {
      cause: error,
    });
  }
  if (code === "3D000") {
    return new ConfigurationError(
      "pg-boss",
      `the database in ${where} does not exist (${raw}). Create it (createdb) or fix the URL's path.`,
      { cause: error },
    );
  }
  if (code === "42501") {
    return new ConfigurationError(
      "pg-boss",
      `this user may not create or change the schema "${schema}" (${raw}). Grant it CREATE on the database (GRANT CREATE ON DATABASE … TO …), or install pg-boss's schema once as an owner.`,
      { cause: error },
    );
  }
  if (/version/i.test(raw) && /schema|migrat/i.test(raw)) {
    return new ConfigurationError(
      "pg-boss",
      `the pg-boss schema "${schema}" has a version this pg-boss cannot use (${raw}). Upgrade the pg-boss package to match the database, or use another schema.`,
      { cause: error },
    );
  }
  if (isTransient(error) || code === "ENOTFOUND" || code === "EAI_AGAIN") {
    return new ConnectionError(
      "pg-boss",
      `cannot reach PostgreSQL at ${where} (${code || raw}). Is the server running and the host and port right?`,
      {
        cause: error,
      },
    );
  }
  return new ConnectionError("pg-boss", `could not start pg-boss on ${where}: ${raw}`, { cause: error });
}

export function redact(message: string, secrets: readonly string[]): string {
  let out = message;
  for (const secret of secrets) if (secret) out = out.split(secret).join("***");
  return out;
}
