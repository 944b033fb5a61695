import { ConfigurationError, isTimeoutParam, redactUrl, type Timeouts, timeoutsFromUrl } from "@taskport/core";

/** What a `bee-queue://` URL configures. */
export interface UrlOptions {
  readonly host: string;
  readonly port: number;
  readonly db: number;
  readonly user?: string;
  readonly password?: string;
  readonly prefix?: string;
  readonly stallIntervalMs?: number;
  readonly keepSucceeded?: boolean;
  /** Connect with TLS (`?tls=true`), as managed Redis services require. */
  readonly tls?: boolean;
  /** `connectTimeoutMs`, `operationTimeoutMs`, `closeTimeoutMs`, when the URL sets any. */
  readonly timeouts?: Partial<Timeouts>;
}

const NUMBER_OPTIONS = ["stallIntervalMs"] as const;
const BOOLEAN_OPTIONS = ["keepSucceeded", "tls"] as const;
const KNOWN = ["prefix", ...NUMBER_OPTIONS, ...BOOLEAN_OPTIONS];

/**
 * Read `bee-queue://[[user]:password@]host:port/db?prefix=bq&stallIntervalMs=5000&keepSucceeded=true&tls=true&connectTimeoutMs=10000&operationTimeoutMs=30000&closeTimeoutMs=10000`.
 * Port defaults to 6379, db to 0, prefix to bee-queue's own `bq`; `tls=true` connects with TLS and
 * checks the server's certificate against Node's trusted CAs.
 */
export function parseUrlOptions(url: URL): UrlOptions {
  if (url.protocol !== "bee-queue:") {
    throw new ConfigurationError(
      "bee-queue",
      `${redactUrl(url)} is not a bee-queue:// URL. Write it as bee-queue://127.0.0.1:6379/0?prefix=bq.`,
    );
  }
  for (const key of url.searchParams.keys()) {
    if (!KNOWN.includes(key) && !isTimeoutParam(key)) {
      throw new ConfigurationError(
        "bee-queue",
        `unknown option "${key}" in ${redactUrl(url)}. Known: ${KNOWN.join(", ")}, connectTimeoutMs, operationTimeoutMs, closeTimeoutMs.`,
      );
    }
  }
  const path = url.pathname.replace(/^\/+/, "");
  const db = path === "" ? 0 : Number(path);
  if (!Number.isInteger(db) || db < 0) {
    throw new ConfigurationError("bee-queue", `the database in ${redactUrl(url)} must be a whole number ≥ 0 (e.g. /0), got "${path}".`);
  }
  const port = url.port === "" ? 6379 : Number(url.port);
  const options: {
    host: string;
    port: number;
    db: number;
    user?: string;
    password?: string;
    prefix?: string;
    stallIntervalMs?: number;
    keepSucceeded?: boolean;
    tls?: boolean;
    timeouts?: Partial<Timeouts>;
  } = { host: url.hostname.replace(/^\[|\]$/g, "") || "127.0.0.1", port, db };
  const timeouts = timeoutsFromUrl(url, "bee-queue");
  if (Object.keys(timeouts).length > 0) options.timeouts = timeouts;
  if (url.username) options.user = decodeURIComponent(url.username);
  if (url.password) options.password = decodeURIComponent(url.password);
  const prefix = url.searchParams.get("prefix");
  if (prefix !== null) options.prefix = validatePrefix(prefix);
  for (const key of NUMBER_OPTIONS) {
    const value = url.searchParams.get(key);
    if (value === null) continue;
    const number = Number(value);
    if (!Number.isInteger(number) || number < 1) {
      throw new ConfigurationError("bee-queue", `option ${key} in ${redactUrl(url)} must be a whole number ≥ 1, got "${value}".`);
    }
    options[key] = number;
  }
  for (const key of BOOLEAN_OPTIONS) {
    const value = url.searchParams.get(key);
    if (value === null) continue;
    if (value !== "true" && value !== "false") {
      throw new ConfigurationError("bee-queue", `option ${key} in ${redactUrl(url)} must be true or false, got "${value}".`);
    }
    options[key] = value === "true";
  }
  return options;
}

/** Keys are `<prefix>:<queue>:…`; a prefix with a colon or spaces would make them ambiguous. */
export function validatePrefix(prefix: string): string {
  if (!/^[A-Za-z0-9_.-]{1,100}$/.test(prefix)) {
    throw new ConfigurationError(
      "bee-queue",
      `prefix "${prefix}" is not valid. Use 1–100 letters, digits, "_", "." or "-" (bee-queue's default is "bq").`,
    );
  }
  return prefix;
}
