import { ConfigurationError, redactUrl, type Timeouts, timeoutsFromUrl, withoutTimeoutParams } from "@taskport/core";

/** What a `postgres://` URL configures, beside the connection itself. */
export interface UrlOptions {
  /** The URL without taskport's own query options, as `pg` reads it. */
  readonly connectionString: string;
  readonly schema?: string;
  readonly batchSize?: number;
  readonly max?: number;
  /** `connectTimeoutMs`, `operationTimeoutMs`, `closeTimeoutMs`, when the URL sets any. */
  readonly timeouts?: Partial<Timeouts>;
}

const OWN_OPTIONS = ["schema", "batchSize", "max"] as const;

/**
 * Read `postgres://user:pass@host:5432/db?schema=jobs&batchSize=50&max=10&connectTimeoutMs=10000&operationTimeoutMs=30000&closeTimeoutMs=10000`. Other query options
 * (`sslmode`, `application_name`, …) are left for `pg`.
 */
export function parseUrlOptions(url: URL): UrlOptions {
  if (url.protocol !== "postgres:" && url.protocol !== "postgresql:") {
    throw new ConfigurationError(
      "pg-boss",
      `${redactUrl(url)} is not a postgres:// URL. Write it as postgres://user@host:5432/database?schema=pgboss.`,
    );
  }
  const rest = withoutTimeoutParams(url);
  const options: { schema?: string; batchSize?: number; max?: number; timeouts?: Partial<Timeouts> } = {};
  const timeouts = timeoutsFromUrl(url, "pg-boss");
  if (Object.keys(timeouts).length > 0) options.timeouts = timeouts;
  for (const key of OWN_OPTIONS) {
    const value = rest.searchParams.get(key);
    if (value === null) continue;
    rest.searchParams.delete(key);
    if (key === "schema") {
      options.schema = validateSchemaName(value);
    } else {
      const number = Number(value);
      if (!Number.isInteger(number) || number < 1) {
        throw new ConfigurationError("pg-boss", `option ${key} in ${redactUrl(url)} must be a whole number ≥ 1, got "${value}".`);
      }
      options[key] = number;
    }
  }
  return { connectionString: rest.href, ...options };
}

/**
 * pg-boss splices the schema name into its SQL, so only a plain identifier is accepted: letters,
 * digits and underscores, not starting with a digit, at most 63 bytes (PostgreSQL's limit).
 */
export function validateSchemaName(schema: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(schema)) {
    throw new ConfigurationError(
      "pg-boss",
      `schema "${schema}" is not a valid identifier. Use letters, digits and underscores, starting with a letter or underscore, at most 63 characters (e.g. schema=pgboss).`,
    );
  }
  return schema;
}
