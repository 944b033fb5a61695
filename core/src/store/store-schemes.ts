import { redactUrl } from "../backends/redact.ts";
import { importFactory, parseBackendUrl } from "../backends/schemes.ts";
import { ConfigurationError } from "../errors.ts";
import type { JobStore, StoreFactory } from "./contract.ts";
import { MemoryStore } from "./memory-store.ts";

/** Environment variable read for the default backend's job store when `configure` was not called. */
export const STORE_URL_ENV = "TASKPORT_STORE_URL";

/**
 * Store URL schemes and the package that serves each; the package must export
 * `createStore(url: URL)`. As with engines, only these are loaded, from configuration alone.
 */
const STORE_PACKAGES: Readonly<Record<string, string>> = {
  postgres: "@taskport/postgres-store",
  postgresql: "@taskport/postgres-store",
  redis: "@taskport/redis-store",
  rediss: "@taskport/redis-store",
};

/** Build the store a URL names. Opens no connection. */
export async function createStoreFromUrl(text: string): Promise<JobStore> {
  const url = parseBackendUrl(text);
  const scheme = url.protocol.replace(/:$/, "").toLowerCase();
  if (scheme === "memory") return new MemoryStore();
  const specifier = STORE_PACKAGES[scheme];
  if (!specifier) {
    throw new ConfigurationError(
      "core",
      `unknown job store URL scheme "${scheme}:" in ${redactUrl(url)}. Known: memory, ${Object.keys(STORE_PACKAGES).join(", ")}.`,
    );
  }
  const createStore = await importFactory<StoreFactory>(specifier, url, "createStore", "job store");
  return createStore(url);
}
