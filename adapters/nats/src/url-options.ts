import { ConfigurationError, redactUrl, type Timeouts, timeoutsFromUrl } from "@taskport/core";
import { ORIGIN } from "./nats-errors.ts";

/** What a `nats://` URL sets, besides the server. */
export interface UrlOptions {
  readonly servers: string[];
  readonly user?: string;
  readonly pass?: string;
  readonly token?: string;
  readonly tls: boolean;
  readonly ackWaitMs?: number;
  readonly maxDeliver?: number;
  readonly duplicateWindowMs?: number;
  readonly replicas?: number;
  readonly timeouts: Partial<Timeouts>;
}

const NUMERIC = ["ackWaitMs", "maxDeliver", "duplicateWindowMs", "replicas"] as const;

/**
 * `nats://user:password@host:4222?ackWaitMs=30000` (or `nats+tls://…` for TLS; `nats://token@host` for a token).
 * Several servers of a cluster: `nats://host1:4222,host2:4222` is not a URL, so give `servers` as
 * an option instead, or one seed server (the client learns the others from it).
 */
export function parseUrlOptions(url: URL): UrlOptions {
  const scheme = url.protocol.replace(/:$/, "");
  if (scheme !== "nats" && scheme !== "nats+tls") {
    throw new ConfigurationError(ORIGIN, `${redactUrl(url)}: use nats:// or nats+tls://, e.g. nats://127.0.0.1:4222.`);
  }
  const known = new Set<string>([...NUMERIC, "connectTimeoutMs", "operationTimeoutMs", "closeTimeoutMs"]);
  for (const key of url.searchParams.keys()) {
    if (!known.has(key)) {
      throw new ConfigurationError(ORIGIN, `unknown option "${key}" in ${redactUrl(url)}. Known: ${[...known].join(", ")}.`);
    }
    // Only the first would count: a second value, meant to override it, would be ignored silently.
    if (url.searchParams.getAll(key).length > 1) {
      throw new ConfigurationError(ORIGIN, `option ${key} is given more than once in ${redactUrl(url)}: give it once.`);
    }
  }
  const numbers: Partial<Record<(typeof NUMERIC)[number], number>> = {};
  for (const key of NUMERIC) {
    const value = url.searchParams.get(key);
    if (value === null) continue;
    if (!/^-?\d+$/.test(value))
      throw new ConfigurationError(ORIGIN, `option ${key} in ${redactUrl(url)} must be a whole number, got "${value}".`);
    numbers[key] = Number(value);
  }
  const user = url.username ? decodeURIComponent(url.username) : undefined;
  const pass = url.password ? decodeURIComponent(url.password) : undefined;
  return {
    servers: [`${url.hostname || "127.0.0.1"}:${url.port || 4222}`],
    // A user without a password is a token, as the NATS URL convention has it.
    ...(user !== undefined && pass === undefined ? { token: user } : {}),
    ...(user !== undefined && pass !== undefined ? { user, pass } : {}),
    tls: scheme === "nats+tls",
    ...numbers,
    timeouts: timeoutsFromUrl(url, ORIGIN),
  };
}
