import type { Backend } from "@taskport/core";
import type { Command } from "commander";
import { type Core, loadCore } from "./load-core.ts";
import { importAppModule } from "./load-tasks.ts";
import { selectBackend } from "./select-backend.ts";

/** The options every inspection command takes to find its backend. */
export interface BackendFlags {
  module?: string;
  url?: string;
  backend?: string;
  json?: boolean;
}

export function withBackendOptions(command: Command): Command {
  return command
    .option("-m, --module <file>", "module that calls configure() (its backends, store and logger)")
    .option("-u, --url <url>", "engine URL; overrides configure() and TASKPORT_URL")
    .option("-b, --backend <name>", "backend name from the module's configure()")
    .option("--json", "print JSON");
}

/**
 * Run `work` against the backend the flags name (loading the app's module first, so its
 * `configure()` applies), and close every connection afterwards.
 */
export async function withBackend<T>(flags: BackendFlags, work: (backend: Backend, core: Core) => Promise<T>): Promise<T> {
  const core = flags.module ? await loadCore((await importAppModule(flags.module)).absolute) : await loadCore();
  const backend = selectBackend(core, { url: flags.url, backend: flags.backend });
  try {
    return await work(backend, core);
  } finally {
    await backend.close().catch(() => undefined);
    await core.closeBackends().catch(() => undefined);
  }
}
