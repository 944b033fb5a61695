import { ConfigurationError, redactUrl, type Timeouts, timeoutsFromUrl, withoutTimeoutParams } from "@taskport/core";

export const ORIGIN = "postgres-outbox";

/** What a `postgres://` URL configures beside the connection itself. */
export interface UrlOptions {
  /** The URL without the outbox's own query options, as `pg` reads it (`sslmode`, `application_name`, … stay). */
  readonly connectionString: string;
  readonly schema?: string;
  readonly max?: number;
  /** `connectTimeoutMs`, `operationTimeoutMs`, `closeTimeoutMs`, when the URL sets any. */
  readonly timeouts?: Partial<Timeouts>;
}

const OWN_OPTIONS = ["schema", "max"] as const;

/**
 * Read `postgres://user:pass@host:5432/db?schema=taskport&max=4&connectTimeoutMs=10000&operationTimeoutMs=30000&closeTimeoutMs=10000`.
 * Other query options are left for `pg`.
 */
export function parseUrlOptions(url: URL): UrlOptions {
  if (url.protocol !== "postgres:" && url.protocol !== "postgresql:") {
    throw new ConfigurationError(
      ORIGIN,
      `${redactUrl(url)} is not a postgres:// URL. Write it as postgres://user@host:5432/database, the database your transactions use.`,
    );
  }
  const rest = withoutTimeoutParams(url);
  const timeouts = timeoutsFromUrl(url, ORIGIN);
  let schema: string | undefined;
  let max: number | undefined;
  for (const key of OWN_OPTIONS) {
    const value = rest.searchParams.get(key);
    if (value === null) continue;
    rest.searchParams.delete(key);
    if (key === "schema") schema = validateSchemaName(value);
    else max = wholeNumber(key, value, url);
  }
  return {
    connectionString: rest.href,
    ...(schema !== undefined ? { schema } : {}),
    ...(max !== undefined ? { max } : {}),
    ...(Object.keys(timeouts).length > 0 ? { timeouts } : {}),
  };
}

/**
 * The schema's name is spliced into SQL and into the NOTIFY channel `<schema>.outbox`, so only a
 * plain identifier is accepted, short enough for the channel to fit PostgreSQL's 63-byte names.
 */
export function validateSchemaName(schema: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,55}$/.test(schema)) {
    throw new ConfigurationError(
      ORIGIN,
      `schema "${schema}" is not a valid name. Use letters, digits and underscores, starting with a letter or underscore, at most 56 characters (e.g. schema=taskport).`,
    );
  }
  return schema;
}

function wholeNumber(key: string, value: string, url: URL): number {
  const number = Number(value);
  if (!Number.isSafeInteger(number) || number < 1) {
    throw new ConfigurationError(ORIGIN, `option ${key} in ${redactUrl(url)} must be a whole number ≥ 1, got "${value}".`);
  }
  return number;
}
