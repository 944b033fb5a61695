import { ConfigurationError, isTimeoutParam, redactUrl, type Timeouts, timeoutsFromUrl } from "@taskport/core";

/** What a `bullmq://` URL configures. */
export interface UrlOptions {
  readonly host: string;
  readonly port: number;
  readonly db: number;
  readonly username?: string;
  readonly password?: string;
  readonly prefix?: string;
  readonly lockDurationMs?: number;
  readonly stalledIntervalMs?: number;
  readonly priorities?: boolean;
  /** Connect with TLS (`?tls=true`), as managed Redis services require. */
  readonly tls?: boolean;
  /** `connectTimeoutMs`, `operationTimeoutMs`, `closeTimeoutMs`. */
  readonly timeouts?: Partial<Timeouts>;
}

const NUMBER_OPTIONS = ["lockDurationMs", "stalledIntervalMs"] as const;
const BOOLEAN_OPTIONS = ["priorities", "tls"] as const;
const KNOWN = ["prefix", ...BOOLEAN_OPTIONS, ...NUMBER_OPTIONS];

/**
 * Read `bullmq://[[user]:password@]host:port/db?prefix=bull&lockDurationMs=30000&stalledIntervalMs=30000&priorities=false&tls=true&connectTimeoutMs=10000&operationTimeoutMs=30000&closeTimeoutMs=10000`.
 * Port defaults to 6379, db to 0, prefix to BullMQ's own `bull`; `tls=true` connects with TLS and
 * checks the server's certificate against Node's trusted CAs.
 */
export function parseUrlOptions(url: URL): UrlOptions {
  if (url.protocol !== "bullmq:") {
    throw new ConfigurationError("bullmq", `${redactUrl(url)} is not a bullmq:// URL. Write it as bullmq://127.0.0.1:6379/0?prefix=bull.`);
  }
  for (const key of url.searchParams.keys()) {
    if (!KNOWN.includes(key) && !isTimeoutParam(key)) {
      throw new ConfigurationError(
        "bullmq",
        `unknown option "${key}" in ${redactUrl(url)}. Known: ${KNOWN.join(", ")}, connectTimeoutMs, operationTimeoutMs, closeTimeoutMs.`,
      );
    }
  }
  const path = url.pathname.replace(/^\/+/, "");
  const db = path === "" ? 0 : Number(path);
  if (!Number.isInteger(db) || db < 0) {
    throw new ConfigurationError("bullmq", `the database in ${redactUrl(url)} must be a whole number ≥ 0 (e.g. /0), got "${path}".`);
  }
  const port = url.port === "" ? 6379 : Number(url.port);
  const options: {
    host: string;
    port: number;
    db: number;
    username?: string;
    password?: string;
    prefix?: string;
    lockDurationMs?: number;
    stalledIntervalMs?: number;
    priorities?: boolean;
    tls?: boolean;
    timeouts?: Partial<Timeouts>;
  } = { host: url.hostname.replace(/^\[|\]$/g, "") || "127.0.0.1", port, db };
  const timeouts = timeoutsFromUrl(url, "bullmq");
  if (Object.keys(timeouts).length > 0) options.timeouts = timeouts;
  if (url.username) options.username = decodeURIComponent(url.username);
  if (url.password) options.password = decodeURIComponent(url.password);
  const prefix = url.searchParams.get("prefix");
  if (prefix !== null) options.prefix = validatePrefix(prefix);
  for (const key of BOOLEAN_OPTIONS) {
    const value = url.searchParams.get(key);
    if (value === null) continue;
    if (value !== "true" && value !== "false") {
      throw new ConfigurationError("bullmq", `option ${key} in ${redactUrl(url)} must be true or false, got "${value}".`);
    }
    options[key] = value === "true";
  }
  for (const key of NUMBER_OPTIONS) {
    const value = url.searchParams.get(key);
    if (value === null) continue;
    const number = Number(value);
    if (!Number.isInteger(number) || number < 1) {
      throw new ConfigurationError("bullmq", `option ${key} in ${redactUrl(url)} must be a whole number ≥ 1, got "${value}".`);
    }
    options[key] = number;
  }
  return options;
}

/** Keys are `<prefix>:<queue>:…`; a prefix with a colon or spaces would make them ambiguous. */
export function validatePrefix(prefix: string): string {
  if (!/^[A-Za-z0-9_.-]{1,100}$/.test(prefix)) {
    throw new ConfigurationError(
      "bullmq",
      `prefix "${prefix}" is not valid. Use 1–100 letters, digits, "_", "." or "-" (BullMQ's default is "bull").`,
    );
  }
  return prefix;
}

/**
 * BullMQ refuses queue names containing ":" (its key separator) when it builds keys; say so before
 * anything is stored, with what to do.
 */
export function validateQueueName(queue: string): void {
  if (queue.includes(":")) {
    throw new ConfigurationError(
      "bullmq",
      `queue name "${queue}" contains ":", which BullMQ uses to build its keys. Use "-" or "." instead.`,
    );
  }
}

/** What a `bullmq+postgres://` URL configures. */
export interface PostgresUrlOptions {
  /** The URL as node-postgres reads it: `postgres://user:password@host:port/database[?sslmode=…]`. */
  readonly connectionString: string;
  readonly schema?: string;
  readonly migrate?: boolean;
  /** Connections in each pool (the queues' and each worker's); node-postgres's default is 10. */
  readonly max?: number;
  readonly lockDurationMs?: number;
  readonly stalledIntervalMs?: number;
  readonly priorities?: boolean;
  readonly timeouts?: Partial<Timeouts>;
}

const POSTGRES_KNOWN = ["schema", "migrate", "max", "sslmode", "priorities", ...NUMBER_OPTIONS];

/**
 * Read `bullmq+postgres://user:password@host:5432/database?schema=bullmq&migrate=true&max=10`:
 * BullMQ on its PostgreSQL backend. The part after the scheme is an ordinary PostgreSQL URL
 * (port 5432, the path names the database, `sslmode` as node-postgres reads it); `schema` is
 * BullMQ's namespace (default `bullmq`), `migrate=true` creates or upgrades BullMQ's tables on
 * connect. `lockDurationMs`, `stalledIntervalMs`, `priorities` and the timeouts are as for bullmq://.
 */
export function parsePostgresUrlOptions(url: URL): PostgresUrlOptions {
  if (url.protocol !== "bullmq+postgres:") {
    throw new ConfigurationError(
      "bullmq",
      `${redactUrl(url)} is not a bullmq+postgres:// URL. Write it as bullmq+postgres://user@127.0.0.1:5432/app.`,
    );
  }
  for (const key of url.searchParams.keys()) {
    if (!POSTGRES_KNOWN.includes(key) && !isTimeoutParam(key)) {
      throw new ConfigurationError(
        "bullmq",
        `unknown option "${key}" in ${redactUrl(url)}. Known: ${POSTGRES_KNOWN.join(", ")}, connectTimeoutMs, operationTimeoutMs, closeTimeoutMs.`,
      );
    }
  }
  const target = new URL(`postgres://${url.host}${url.pathname}`);
  target.username = url.username;
  target.password = url.password;
  const sslmode = url.searchParams.get("sslmode");
  if (sslmode !== null) target.searchParams.set("sslmode", sslmode);
  const options: {
    connectionString: string;
    schema?: string;
    migrate?: boolean;
    max?: number;
    lockDurationMs?: number;
    stalledIntervalMs?: number;
    priorities?: boolean;
    timeouts?: Partial<Timeouts>;
  } = { connectionString: target.href };
  const schema = url.searchParams.get("schema");
  if (schema !== null) {
    if (!/^[A-Za-z_][A-Za-z0-9_$]{0,62}$/.test(schema)) {
      throw new ConfigurationError(
        "bullmq",
        `schema "${schema}" in ${redactUrl(url)} is not valid: BullMQ takes 1–63 letters, digits, "_" or "$", not starting with a digit.`,
      );
    }
    options.schema = schema;
  }
  for (const key of ["migrate", "priorities"] as const) {
    const value = url.searchParams.get(key);
    if (value === null) continue;
    if (value !== "true" && value !== "false") {
      throw new ConfigurationError("bullmq", `option ${key} in ${redactUrl(url)} must be true or false, got "${value}".`);
    }
    options[key] = value === "true";
  }
  for (const key of [...NUMBER_OPTIONS, "max"] as const) {
    const value = url.searchParams.get(key);
    if (value === null) continue;
    const number = Number(value);
    if (!Number.isInteger(number) || number < 1) {
      throw new ConfigurationError("bullmq", `option ${key} in ${redactUrl(url)} must be a whole number ≥ 1, got "${value}".`);
    }
    options[key] = number;
  }
  const timeouts = timeoutsFromUrl(url, "bullmq");
  if (Object.keys(timeouts).length > 0) options.timeouts = timeouts;
  return options;
}
