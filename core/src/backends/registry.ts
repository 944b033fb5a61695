import { ConfigurationError } from "../errors.ts";
import { type Instrumentation, setInstrumentations } from "../instrumentation.ts";
import { type Logger, setLogger } from "../logger.ts";
import { OUTBOX_URL_ENV } from "../outbox/outbox-schemes.ts";
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
 *
 * Calling it again replaces the configuration and closes the backends it replaces (adapter objects
 * that the new configuration names again are kept open): the returned promise settles once they are
 * closed, and a failure to close one is written to stderr rather than thrown, since callers that
 * configure at start-up do not await. It refuses with a `ConfigurationError`, changing nothing,
 * while a worker still runs on a backend it would replace: close the worker first, so that none of
 * its jobs is cut off.
 */
export function configure(config: TaskportConfig): Promise<void> {
  const next = new Map<string, Backend>();
  for (const [name, spec] of Object.entries(config.backends)) next.set(name, new Backend(name, spec));
  if (!next.has("default")) next.set("default", defaultBackend());
  const replaced = [...(backends?.values() ?? [])];
  const busy = replaced.filter((backend) => backend.activeWorkers > 0);
  if (busy.length > 0) {
    throw new ConfigurationError(
      "core",
      `configure() would replace backend ${busy.map((b) => `"${b.name}"`).join(", ")} while a worker runs on it. ` +
        "Close its workers first (await worker.close()), then configure again.",
    );
  }
  setLogger(config.logger);
  setInstrumentations(config.instrumentations);
  backends = next;
  const kept = new Set([...next.values()].map((backend) => backend.adapterObject).filter((adapter) => adapter !== undefined));
  return closeReplaced(replaced.filter((backend) => backend.adapterObject === undefined || !kept.has(backend.adapterObject)));
}

async function closeReplaced(replaced: readonly Backend[]): Promise<void> {
  await Promise.all(
    replaced.map((backend) =>
      backend.close().catch((error: unknown) => {
        const reason = error instanceof Error ? error.message : String(error);
        console.error(`[taskport] [core] closing the replaced backend "${backend.name}" (${backend.description}) failed: ${reason}`);
      }),
    ),
  );
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
  const store = process.env[STORE_URL_ENV] || undefined;
  const outbox = process.env[OUTBOX_URL_ENV] || undefined;
  if (!store && !outbox) return new Backend("default", url);
  return new Backend("default", { url, ...(store ? { store } : {}), ...(outbox ? { outbox } : {}) });
}
