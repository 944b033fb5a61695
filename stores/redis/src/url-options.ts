import { ConfigurationError, redactUrl, type Timeouts, timeoutsFromUrl, withoutTimeoutParams } from "@taskport/core";
import { STORE_NAME } from "./store-name.ts";

/** What a `redis://` or `rediss://` store URL configures. */
export interface UrlOptions {
  /** The URL for ioredis, without the store's own options: ioredis reads host, port, credentials, db and TLS from it. */
  readonly redisUrl: string;
  readonly prefix?: string;
  /** The older name of `operationTimeoutMs`; the newer one wins when both are given. */
  readonly commandTimeoutMs?: number;
  /** `connectTimeoutMs`, `operationTimeoutMs`, `closeTimeoutMs`, as every taskport URL takes them. */
  readonly timeouts?: Partial<Timeouts>;
}

const NUMBER_OPTIONS = ["commandTimeoutMs"] as const;
const TIMEOUT_OPTIONS = ["connectTimeoutMs", "operationTimeoutMs", "closeTimeoutMs"];
/** `family` (4 or 6) is ioredis's own, passed on to it. */
const KNOWN = ["prefix", ...NUMBER_OPTIONS, ...TIMEOUT_OPTIONS, "family"];

/**
 * Read `redis://[[user]:password@]host[:port][/db][?prefix=taskport&connectTimeoutMs=10000&operationTimeoutMs=30000&closeTimeoutMs=10000]`
 * (`rediss://` for TLS). An unknown option is refused rather than ignored: a misspelt `prefix`
 * would otherwise put the keys somewhere else without a word.
 */
export function parseUrlOptions(url: URL): UrlOptions {
  if (url.protocol !== "redis:" && url.protocol !== "rediss:") {
    throw new ConfigurationError(
      STORE_NAME,
      `${redactUrl(url)} is not a redis:// or rediss:// URL. Write it as redis://127.0.0.1:6379/0?prefix=taskport.`,
    );
  }
  for (const key of url.searchParams.keys()) {
    if (!KNOWN.includes(key)) {
      throw new ConfigurationError(STORE_NAME, `unknown option "${key}" in ${redactUrl(url)}. Known: ${KNOWN.join(", ")}.`);
    }
  }
  const path = url.pathname.replace(/^\/+/, "");
  if (path !== "" && !/^\d+$/.test(path)) {
    throw new ConfigurationError(STORE_NAME, `the database in ${redactUrl(url)} must be a whole number ≥ 0 (e.g. /0), got "${path}".`);
  }
  const options: { redisUrl: string; prefix?: string; commandTimeoutMs?: number; timeouts?: Partial<Timeouts> } = {
    redisUrl: withoutOwnOptions(url),
  };
  const timeouts = timeoutsFromUrl(url, STORE_NAME);
  if (Object.keys(timeouts).length > 0) options.timeouts = timeouts;
  const prefix = url.searchParams.get("prefix");
  if (prefix !== null) options.prefix = validatePrefix(prefix);
  for (const key of NUMBER_OPTIONS) {
    const value = url.searchParams.get(key);
    if (value === null) continue;
    options[key] = positiveMs(key, Number(value), `in ${redactUrl(url)}`);
  }
  return options;
}

/** Keys are `<prefix>:job:<id>`, `<prefix>:dedup:<queue>:<key>`…: a prefix with a colon or spaces would make them ambiguous. */
export function validatePrefix(prefix: string): string {
  if (!/^[A-Za-z0-9_.-]{1,100}$/.test(prefix)) {
    throw new ConfigurationError(
      STORE_NAME,
      `prefix "${prefix}" is not valid. Use 1–100 letters, digits, "_", "." or "-" (default "taskport").`,
    );
  }
  return prefix;
}

/** A whole number of ms ≥ 1, or a `ConfigurationError` that names the option. */
export function positiveMs(name: string, value: number, where = ""): number {
  if (!Number.isInteger(value) || value < 1) {
    throw new ConfigurationError(STORE_NAME, `option ${name}${where ? ` ${where}` : ""} must be a whole number of ms ≥ 1, got ${value}.`);
  }
  return value;
}

function withoutOwnOptions(url: URL): string {
  const copy = withoutTimeoutParams(url);
  for (const key of ["prefix", ...NUMBER_OPTIONS]) copy.searchParams.delete(key);
  return copy.toString();
}
