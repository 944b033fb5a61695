import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { AnyTask, Schedule } from "@taskport/core";
import { CliError } from "./cli-error.ts";
import { EXIT } from "./exit-codes.ts";
import { prepareTypeScript, typeScriptHint } from "./typescript-loader.ts";

export interface LoadedModule {
  readonly path: string;
  readonly tasks: AnyTask[];
  /** Schedules the module exports: the worker enqueues their ticks. */
  readonly schedules: Schedule[];
}

/** A schedule, recognised by its shape as tasks are. */
export function isSchedule(value: unknown): value is Schedule {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v.name === "string" && isTask(v.task) && typeof v.nextAfter === "function" && typeof v.between === "function";
}

/**
 * A task is recognised by its shape, not by `instanceof`: the app may import its own copy of
 * @taskport/core, and tasks are plain frozen objects anyway.
 */
export function isTask(value: unknown): value is AnyTask {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v.name === "string" &&
    typeof v.handler === "function" &&
    typeof v.enqueue === "function" &&
    typeof v.using === "function" &&
    typeof v.options === "object"
  );
}

/** Where `path` points, checked, so a typo is one clear line rather than an import stack. */
export function resolveModulePath(path: string): string {
  const absolute = resolve(process.cwd(), path);
  if (!existsSync(absolute)) {
    throw new CliError(`module ${path} not found (looked at ${absolute}). Pass the file that exports your tasks, e.g. ./src/tasks.ts.`);
  }
  return absolute;
}

/**
 * Import the app's module (JavaScript, or TypeScript that Node can strip) and collect the tasks it
 * exports: named exports, arrays of tasks, and a default export that is a task, an array or an
 * object of tasks. Importing runs the module, so its own `configure()` call takes effect.
 */
export async function loadTasks(path: string): Promise<LoadedModule> {
  const { absolute, exports } = await importAppModule(path);
  const found = new Map<string, AnyTask>();
  const schedules = new Map<string, Schedule>();
  const add = (value: unknown): void => {
    if (isTask(value) && !found.has(value.name)) found.set(value.name, value);
    if (isSchedule(value) && !schedules.has(value.name)) schedules.set(value.name, value);
  };
  for (const [key, value] of Object.entries(exports)) {
    if (Array.isArray(value)) value.forEach(add);
    else if (key === "default" && value && typeof value === "object" && !isTask(value) && !isSchedule(value))
      Object.values(value).forEach(add);
    else add(value);
  }
  if (found.size === 0) {
    throw new CliError(
      `${path} exports no tasks. Export each task from it: export const sendEmail = defineTask("send-email", handler).`,
      EXIT.usage,
    );
  }
  return { path: absolute, tasks: [...found.values()], schedules: [...schedules.values()] };
}

/** Import the app's module (which runs its `configure()` call); a failure is one line. */
export async function importAppModule(path: string): Promise<{ absolute: string; exports: Record<string, unknown> }> {
  const absolute = resolveModulePath(path);
  const throughTsx = await prepareTypeScript(absolute);
  try {
    return { absolute, exports: (await import(pathToFileURL(absolute).href)) as Record<string, unknown> };
  } catch (error) {
    const reason = error instanceof Error ? error.message.split("\n")[0] : String(error);
    const hint = throughTsx ? "" : typeScriptHint(absolute, error);
    throw new CliError(`could not load ${path}: ${reason}${hint}`, EXIT.usage, { cause: error });
  }
}
