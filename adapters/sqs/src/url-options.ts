import { ConfigurationError, isTimeoutParam, type Timeouts, timeoutsFromUrl } from "@taskport/core";
import { ORIGIN } from "./sqs-limits.ts";

/** What an `sqs://` URL says: where the service is, in which region, with which options. */
export interface UrlOptions {
  /** `http(s)://host:port` of an emulator or a custom endpoint; absent means AWS's own endpoint for the region. */
  readonly endpoint?: string;
  readonly region?: string;
  /** Static credentials from the URL's user and password (for emulators); absent means the SDK's chain. */
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string };
  readonly fifo?: boolean;
  readonly createQueues?: boolean;
  readonly deadLetter?: boolean;
  readonly visibilityTimeout?: number;
  readonly waitTimeSeconds?: number;
  readonly pollers?: number;
  readonly queues?: readonly string[];
  /** `connectTimeoutMs`, `operationTimeoutMs`, `closeTimeoutMs`, when the URL sets any. */
  readonly timeouts?: Partial<Timeouts>;
}

const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]", "::1"]);
const BOOLEANS = ["fifo", "createQueues", "deadLetter", "tls"] as const;
const INTEGERS = ["visibilityTimeout", "waitTimeSeconds", "pollers"] as const;
const KNOWN = ["region", "queues", ...BOOLEANS, ...INTEGERS];

/**
 * Read an `sqs://` URL:
 * - `sqs://?region=eu-west-1` — AWS itself; credentials from the SDK's chain (environment, profile, role);
 * - `sqs://sqs.eu-west-1.amazonaws.com` — an explicit endpoint (https unless `tls=false`);
 * - `sqs://key:secret@127.0.0.1:4566?region=us-east-1` — an emulator on loopback (http unless `tls=true`).
 */
export function parseUrlOptions(url: URL): UrlOptions {
  if (url.protocol !== "sqs:") {
    throw new ConfigurationError(
      ORIGIN,
      `URL scheme "${url.protocol}" is not served by this adapter. Use sqs://, e.g. sqs://?region=eu-west-1.`,
    );
  }
  if (url.pathname !== "" && url.pathname !== "/") {
    throw new ConfigurationError(
      ORIGIN,
      `an sqs:// URL names no queue in its path ("${url.pathname}"): queues come from the tasks. Remove the path.`,
    );
  }
  const out: { -readonly [K in keyof UrlOptions]: UrlOptions[K] } = {};
  let tls: boolean | undefined;
  for (const [key, value] of url.searchParams) {
    if (key === "region") {
      if (!/^[a-z0-9-]+$/.test(value)) throw new ConfigurationError(ORIGIN, `region=${value} is not a region name such as eu-west-1.`);
      out.region = value;
    } else if (isTimeoutParam(key)) {
      // read below, all three at once
    } else if (key === "queues") {
      out.queues = value.split(",").filter((q) => q !== "");
    } else if ((BOOLEANS as readonly string[]).includes(key)) {
      const flag = booleanParam(key, value);
      if (key === "tls") tls = flag;
      else out[key as "fifo" | "createQueues" | "deadLetter"] = flag;
    } else if ((INTEGERS as readonly string[]).includes(key)) {
      out[key as (typeof INTEGERS)[number]] = integerParam(key, value);
    } else {
      throw new ConfigurationError(
        ORIGIN,
        `unknown URL parameter "${key}". Known: ${KNOWN.join(", ")}, connectTimeoutMs, operationTimeoutMs, closeTimeoutMs.`,
      );
    }
  }
  const timeouts = timeoutsFromUrl(url, ORIGIN);
  if (Object.keys(timeouts).length > 0) out.timeouts = timeouts;
  if (url.hostname !== "") {
    const secure = tls ?? !LOOPBACK.has(url.hostname);
    out.endpoint = `${secure ? "https" : "http"}://${url.host}`;
  } else if (tls === false) {
    throw new ConfigurationError(ORIGIN, "tls=false needs a host (sqs://host:port?tls=false); AWS's own endpoints are https only.");
  }
  if (url.username !== "" || url.password !== "") {
    if (url.username === "" || url.password === "") {
      throw new ConfigurationError(ORIGIN, "give both an access key id and a secret in the URL (sqs://key:secret@host), or neither.");
    }
    out.credentials = { accessKeyId: decodeURIComponent(url.username), secretAccessKey: decodeURIComponent(url.password) };
  }
  return out;
}

function booleanParam(key: string, value: string): boolean {
  if (value === "true" || value === "1") return true;
  if (value === "false" || value === "0") return false;
  throw new ConfigurationError(ORIGIN, `URL parameter ${key}=${value} must be true or false.`);
}

function integerParam(key: string, value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new ConfigurationError(ORIGIN, `URL parameter ${key}=${value} must be a whole number ≥ 0.`);
  }
  return n;
}
