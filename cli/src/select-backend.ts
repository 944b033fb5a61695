import type { Backend } from "@taskport/core";
import type { Core } from "./load-core.ts";

export interface BackendChoice {
  /** An engine URL given on the command line: wins over everything else. */
  readonly url?: string | undefined;
  /** A backend name given to the app's `configure()`. Default `default`. */
  readonly backend?: string | undefined;
}

/**
 * Which backend a command talks to, in this order: `--url`; else the named backend from the app's
 * `configure()` call (when a module was loaded); else `TASKPORT_URL`; else the in-process memory engine.
 * The last two are core's own fallbacks for `default`.
 */
export function selectBackend(core: Core, choice: BackendChoice): Backend {
  if (choice.url) return new core.Backend(choice.backend ?? "default", choice.url);
  return core.getBackend(choice.backend ?? "default");
}
