import { ConfigurationError, isTimeoutParam, type Timeouts, timeoutsFromUrl } from "@taskport/core";

export type QueueType = "classic" | "quorum";

/** What an `amqp://` URL says beyond where the broker is. */
export interface UrlOptions {
  /** The URL handed to amqplib: taskport's own parameters removed, amqplib's kept. */
  readonly connectUrl: string;
  readonly prefetch?: number;
  readonly queueType?: QueueType;
  readonly maxPriority?: number;
  readonly maxDelayBucketMs?: number;
  readonly deliveryLimit?: number;
  /** `connectTimeoutMs`, `operationTimeoutMs`, `closeTimeoutMs`, when the URL sets any. */
  readonly timeouts?: Partial<Timeouts>;
}

const ORIGIN = "rabbitmq";
/** Query parameters amqplib reads itself (see amqplib's `connect`). */
const AMQPLIB_PARAMS = new Set(["heartbeat", "frameMax", "channelMax", "locale", "maxFrameSize"]);
const OWN_PARAMS = ["prefetch", "queueType", "maxPriority", "maxDelayBucketMs", "deliveryLimit"];

/**
 * Read `amqp[s]://user:password@host:port/vhost?heartbeat=30&prefetch=20&queueType=quorum&deliveryLimit=5&connectTimeoutMs=10000&operationTimeoutMs=30000&closeTimeoutMs=10000`.
 * The vhost is the URL's path (`%2F` for `/`), as amqplib reads it.
 */
export function parseUrlOptions(url: URL): UrlOptions {
  if (url.protocol !== "amqp:" && url.protocol !== "amqps:") {
    throw new ConfigurationError(ORIGIN, `URL scheme "${url.protocol}" is not served by this adapter. Use amqp:// or amqps://.`);
  }
  const connect = new URL(url.toString());
  const out: { -readonly [K in keyof UrlOptions]: UrlOptions[K] } = { connectUrl: "" };
  for (const [key, value] of url.searchParams) {
    if (isTimeoutParam(key)) {
      connect.searchParams.delete(key);
    } else if (OWN_PARAMS.includes(key)) {
      connect.searchParams.delete(key);
      if (key === "queueType") {
        if (value !== "classic" && value !== "quorum") {
          throw new ConfigurationError(ORIGIN, `queueType=${value} is not supported. Use queueType=classic (default) or queueType=quorum.`);
        }
        out.queueType = value;
      } else {
        out[key as "prefetch" | "maxPriority" | "maxDelayBucketMs" | "deliveryLimit"] = integerParam(key, value);
      }
    } else if (key === "heartbeat") {
      integerParam(key, value, 0);
    } else if (!AMQPLIB_PARAMS.has(key)) {
      throw new ConfigurationError(
        ORIGIN,
        `unknown URL parameter "${key}". Known: ${[...AMQPLIB_PARAMS, ...OWN_PARAMS].join(", ")}, connectTimeoutMs, operationTimeoutMs, closeTimeoutMs.`,
      );
    }
  }
  const timeouts = timeoutsFromUrl(url, ORIGIN);
  if (Object.keys(timeouts).length > 0) out.timeouts = timeouts;
  out.connectUrl = connect.toString();
  return out;
}

function integerParam(key: string, value: string, min = 1): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < min) {
    throw new ConfigurationError(ORIGIN, `URL parameter ${key}=${value} must be an integer of at least ${min}.`);
  }
  return n;
}
