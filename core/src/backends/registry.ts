import { ConfigurationError } from "../errors.ts";
import { type Instrumentation, setInstrumentations } from "../instrumentation.ts";
import { type Logger, setLogger } from "../logger.ts";
import { STORE_URL_ENV } from "../store/store-schemes.ts";
import { Backend, type BackendSpec } from "./backend.ts";

/** Environment variable read for the default backend when `configure` was not called. */
export const URL_ENV = "TASKPORT_URL";
/** The embedded default: an in-process engine, so a first run needs no server. */
export const DEFAULT_URL = "memory://";

export interface TaskportConfig {
  /** Named backends; `default` is used by tasks that name none. */
  readonly backends: Readonly<Record<string, BackendSpec>>;
  /** Where the library writes problems nobody listens for (pino's shape). Default: stderr. */
  readonly logger?: Logger;
  /** Tracing and metrics hooks, e.g. `openTelemetry()` from `@taskport/opentelemetry`. */
  readonly instrumentations?: readonly Instrumentation[];
}

let backends: Map<string, Backend> | undefined;

/**
 * Configure backends once, at application start-up; never inside task code. Opens no connection.
 * Calling it again replaces the configuration (close the old backends first with `closeBackends`).
 */
export function configure(config: TaskportConfig): void {
  const next = new Map<string, Backend>();
  for (const [name, spec] of Object.entries(config.backends)) next.set(name, new Backend(name, spec));
  if (!next.has("default")) next.set("default", defaultBackend());
  setLogger(config.logger);
  setInstrumentations(config.instrumentations);
  backends = next;
}

/** The backend called `name`; with nothing configured, `default` is `TASKPORT_URL` or the memory engine. */
export function getBackend(name = "default"): Backend {
  backends ??= new Map([["default", defaultBackend()]]);
  const backend = backends.get(name);
  if (!backend) {
    throw new ConfigurationError(
      "core",
      `no backend named "${name}". Configured: ${[...backends.keys()].join(", ")}. Add it with configure({ backends: { ${name}: url } }).`,
    );
  }
  return backend;
}

/** Every configured backend (with nothing configured, the default one): for health checks and tools. */
export function configuredBackends(): Backend[] {
  backends ??= new Map([["default", defaultBackend()]]);
  return [...backends.values()];
}

/** Close every configured backend's connections, and forget the configuration. */
export async function closeBackends(): Promise<void> {
  const current = backends;
  backends = undefined;
  if (current) await Promise.all([...current.values()].map((backend) => backend.close()));
}

function defaultBackend(): Backend {
  const url = process.env[URL_ENV] || DEFAULT_URL;
  const store = process.env[STORE_URL_ENV];
  return new Backend("default", store ? { url, store } : url);
}
