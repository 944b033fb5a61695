import type { AdapterFactory } from "../contract.ts";
import { ConfigurationError } from "../errors.ts";
import { createMemoryAdapter } from "../memory/memory-adapter.ts";
import { redactUrl } from "./redact.ts";

/**
 * URL schemes and the adapter package that serves each. The package must export
 * `createAdapter(url: URL)`. Only these (and schemes registered in code) are loaded: a backend URL
 * comes from configuration, and nothing in a job's data ever decides what module is imported.
 */
const BUILTIN_PACKAGES: Readonly<Record<string, string>> = {
  bullmq: "@taskport/bullmq",
  // BullMQ on its own PostgreSQL backend: `postgres://` alone is pg-boss's.
  "bullmq+postgres": "@taskport/bullmq",
  "bee-queue": "@taskport/bee-queue",
  postgres: "@taskport/pg-boss",
  postgresql: "@taskport/pg-boss",
  amqp: "@taskport/rabbitmq",
  amqps: "@taskport/rabbitmq",
  sqs: "@taskport/sqs",
  sqlite: "@taskport/sqlite",
  nats: "@taskport/nats",
  "nats+tls": "@taskport/nats",
};

const registered = new Map<string, AdapterFactory>([["memory", (url) => createMemoryAdapter(url)]]);

/** Serve URLs of `scheme` (without the colon) with `factory`. For third-party adapters. */
export function registerScheme(scheme: string, factory: AdapterFactory): void {
  registered.set(scheme.toLowerCase().replace(/:$/, ""), factory);
}

export function parseBackendUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ConfigurationError(
      "core",
      `"${redactUrl(text)}" is not a valid backend URL. Write it as scheme://host:port/..., e.g. memory:// or bullmq://127.0.0.1:6379.`,
    );
  }
  return url;
}

export async function factoryFor(url: URL): Promise<AdapterFactory> {
  const scheme = url.protocol.replace(/:$/, "").toLowerCase();
  const own = registered.get(scheme);
  if (own) return own;
  const specifier = BUILTIN_PACKAGES[scheme];
  if (!specifier) {
    const known = [...registered.keys(), ...Object.keys(BUILTIN_PACKAGES)].join(", ");
    throw new ConfigurationError(
      "core",
      `unknown backend URL scheme "${scheme}:" in ${redactUrl(url)}. Known schemes: ${known}; or call registerScheme() for your own adapter.`,
    );
  }
  return importAdapter(specifier, url);
}

/** Import an adapter package; a missing one becomes a message saying what to install. */
export function importAdapter(specifier: string, url: URL): Promise<AdapterFactory> {
  return importFactory<AdapterFactory>(specifier, url, "createAdapter", "adapter");
}

/**
 * Import a package's factory (`createAdapter`, `createStore`); a missing package becomes a message
 * saying what to install, a package without the export one saying what it is not.
 */
export async function importFactory<F>(specifier: string, url: URL, exportName: string, kind: string): Promise<F> {
  let module: Record<string, unknown>;
  try {
    module = await import(specifier);
  } catch (error) {
    if ((error as NodeJS.ErrnoException)?.code === "ERR_MODULE_NOT_FOUND" && String(error).includes(specifier)) {
      throw new ConfigurationError(
        "core",
        `${redactUrl(url)} needs the package ${specifier}. Install it: npm install ${specifier}. ` +
          "In a bundled app, which cannot follow an import by URL scheme, pass an adapter object to configure() or call registerScheme().",
        { cause: error },
      );
    }
    throw error;
  }
  const factory = module[exportName];
  if (typeof factory !== "function") {
    throw new ConfigurationError("core", `${specifier} does not export ${exportName}(url); is it a taskport ${kind}?`);
  }
  return factory as F;
}
