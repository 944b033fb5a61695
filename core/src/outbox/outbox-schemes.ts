import { redactUrl } from "../backends/redact.ts";
import { importFactory, parseBackendUrl } from "../backends/schemes.ts";
import { ConfigurationError } from "../errors.ts";
import type { Outbox, OutboxFactory } from "./contract.ts";

/** Environment variable read for the default backend's outbox when `configure` was not called. */
export const OUTBOX_URL_ENV = "TASKPORT_OUTBOX_URL";

/**
 * Outbox URL schemes and the package that serves each; the package must export
 * `createOutbox(url: URL)`. As with engines and stores, only these are loaded, from configuration alone.
 */
const OUTBOX_PACKAGES: Readonly<Record<string, string>> = {
  postgres: "@taskport/postgres-outbox",
  postgresql: "@taskport/postgres-outbox",
};

/** Build the outbox a URL names. Opens no connection. */
export async function createOutboxFromUrl(text: string): Promise<Outbox> {
  const url = parseBackendUrl(text);
  const scheme = url.protocol.replace(/:$/, "").toLowerCase();
  const specifier = OUTBOX_PACKAGES[scheme];
  if (!specifier) {
    throw new ConfigurationError(
      "core",
      `unknown outbox URL scheme "${scheme}:" in ${redactUrl(url)}. Known: ${Object.keys(OUTBOX_PACKAGES).join(", ")} (the database your transactions use).`,
    );
  }
  const createOutbox = await importFactory<OutboxFactory>(specifier, url, "createOutbox", "outbox");
  return createOutbox(url);
}
