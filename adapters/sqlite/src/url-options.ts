import { ConfigurationError, isTimeoutParam } from "@taskport/core";
import type { UrlOptions } from "./options.ts";
import { ORIGIN } from "./sqlite-errors.ts";

const NUMERIC = ["busyTimeoutMs", "pollIntervalMs", "leaseMs", "maxPayloadBytes"] as const;
type NumericOption = (typeof NUMERIC)[number];

const EXAMPLES = "sqlite:./jobs.db (relative to the working directory), sqlite:///var/lib/app/jobs.db (absolute) or sqlite::memory:";

/**
 * Read `sqlite:<file>?option=value…`. The file is everything after `sqlite:`, percent-decoded:
 * `sqlite:./jobs.db`, `sqlite:/var/lib/app/jobs.db`, `sqlite:///var/lib/app/jobs.db`, `sqlite::memory:`.
 */
export function parseUrlOptions(url: URL): UrlOptions {
  if (url.protocol !== "sqlite:") throw new ConfigurationError(ORIGIN, `expected a sqlite: URL, got ${url.protocol}…; write ${EXAMPLES}.`);
  if (url.host !== "") {
    throw new ConfigurationError(ORIGIN, `"sqlite://${url.host}${url.pathname}" names a host, but SQLite is a file: write ${EXAMPLES}.`);
  }
  const filename = decodeURIComponent(url.pathname);
  if (filename === "") throw new ConfigurationError(ORIGIN, `the URL names no database file; write ${EXAMPLES}.`);
  const options: { -readonly [K in keyof UrlOptions]: UrlOptions[K] } = { filename };
  for (const [key, value] of url.searchParams) {
    // No server to wait on (busyTimeoutMs bounds waiting for a lock); a backend's timeouts are accepted.
    if (isTimeoutParam(key)) continue;
    if (key === "synchronous") {
      if (value !== "normal" && value !== "full") {
        throw new ConfigurationError(ORIGIN, `option synchronous must be "normal" or "full", got "${value}".`);
      }
      options.synchronous = value;
    } else if ((NUMERIC as readonly string[]).includes(key)) {
      options[key as NumericOption] = wholeNumber(key, value);
    } else {
      throw new ConfigurationError(ORIGIN, `unknown option "${key}" in the sqlite: URL. Known: ${[...NUMERIC, "synchronous"].join(", ")}.`);
    }
  }
  return options;
}

function wholeNumber(key: string, value: string): number {
  const number = Number(value);
  if (value.trim() === "" || !Number.isSafeInteger(number) || number < 0) {
    throw new ConfigurationError(ORIGIN, `option ${key} must be a whole number ≥ 0, got "${value}".`);
  }
  return number;
}
