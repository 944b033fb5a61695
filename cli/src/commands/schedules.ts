import type { Backend, Schedule } from "@taskport/core";
import type { Command } from "commander";
import { CliError } from "../cli-error.ts";
import { EXIT } from "../exit-codes.ts";
import { loadCore } from "../load-core.ts";
import { loadTasks } from "../load-tasks.ts";
import { Output } from "../output.ts";
import { selectBackend } from "../select-backend.ts";
import { printTable } from "../table.ts";

interface SchedulesFlags {
  url?: string;
  backend?: string;
  json?: boolean;
}

/** How far back the last tick is looked for. */
const LAST_TICK_WINDOW_MS = 31 * 86_400_000;

export function registerSchedules(program: Command): void {
  program
    .command("schedules")
    .description("list the schedules a module exports: when each ticks next, and how its last tick went (engines that store results)")
    .argument("<module>", "file that exports your tasks and schedules")
    .option("-u, --url <url>", "engine URL; overrides the module's configure() and TASKPORT_URL")
    .option("-b, --backend <name>", "backend name from the module's configure()", "default")
    .option("--json", "print one JSON object per schedule")
    .addHelpText(
      "after",
      `
Examples:
  $ taskport schedules ./src/tasks.ts
  $ taskport schedules ./dist/tasks.js --url bullmq://127.0.0.1:6379 --json`,
    )
    .action((module: string, flags: SchedulesFlags) => runSchedules(module, flags));
}

async function runSchedules(module: string, flags: SchedulesFlags): Promise<void> {
  const out = new Output(flags.json === true);
  const { path, schedules } = await loadTasks(module);
  if (schedules.length === 0) {
    throw new CliError(`${module} exports no schedules. Export each: export const nightly = schedule(task, "0 3 * * *").`, EXIT.usage);
  }
  const core = await loadCore(path);
  const backend = selectBackend(core, { url: flags.url, backend: flags.backend });
  const now = Date.now();
  const rows = [];
  for (const schedule of schedules) {
    const next = schedule.nextAfter(now);
    const last = schedule.between(now - LAST_TICK_WINDOW_MS, now, 1)[0];
    const lastStatus = last === undefined ? undefined : await statusOf(core.tickJobId(schedule.name, last), schedule, backend);
    const row = {
      name: schedule.name,
      task: schedule.task.name,
      when:
        typeof schedule.timing === "string"
          ? schedule.timing
          : `every ${schedule.timing.every}${typeof schedule.timing.every === "number" ? " ms" : ""}`,
      tz: schedule.tz ?? "UTC",
      next: next === undefined ? null : new Date(next).toISOString(),
      last: last === undefined ? null : new Date(last).toISOString(),
      lastStatus: lastStatus ?? null,
    };
    rows.push(row);
    if (out.json) out.info({ event: "schedule", ...row }, "");
  }
  if (!out.json) {
    printTable({ name: "SCHEDULE", task: "TASK", when: "WHEN", tz: "TZ", next: "NEXT", last: "LAST", lastStatus: "LAST STATUS" }, rows);
  }
  await backend.close().catch(() => undefined);
}

/** The last tick's status, where the engine can tell; "not run" when it has no record of it. */
async function statusOf(id: string, schedule: Schedule, backend: Backend): Promise<string | undefined> {
  const adapter = await backend.adapter();
  if (!adapter.capabilities.results) return undefined;
  const queue = schedule.task.defaults.queue ?? schedule.task.options.queue ?? "default";
  const info = await backend.getJob(id, queue).catch(() => null);
  return info?.status ?? "not run";
}
