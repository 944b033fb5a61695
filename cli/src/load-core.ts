import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
import * as ownCore from "@taskport/core";

export type Core = typeof ownCore;

/**
 * The @taskport/core instance to use: the one the app's module imports. Core keeps its backend
 * registry (what `configure()` set) in module state, so the CLI must use the app's copy, not its own,
 * or an app's `configure()` call would be invisible to the worker. Falls back to the CLI's copy when
 * the app's directory cannot resolve one (an app that configures nothing).
 */
export async function loadCore(fromFile?: string): Promise<Core> {
  if (!fromFile) return ownCore;
  let resolved: string;
  try {
    resolved = createRequire(fromFile).resolve("@taskport/core");
  } catch {
    return ownCore;
  }
  const url = pathToFileURL(resolved).href;
  if (url === import.meta.resolve("@taskport/core")) return ownCore;
  return (await import(url)) as Core;
}
