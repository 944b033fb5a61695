import type { Command } from "commander";
import { CliError } from "../cli-error.ts";
import { EXIT } from "../exit-codes.ts";
import { type Core, loadCore } from "../load-core.ts";
import { loadTasks } from "../load-tasks.ts";
import { Output } from "../output.ts";

interface CheckFlags {
  module?: string;
  url?: string;
  backend?: string[];
  json?: boolean;
}

export function registerCheck(program: Command): void {
  program
    .command("check")
    .description("check that every configured backend is reachable and configured well; exit 3 when a problem is found")
    .option("-m, --module <file>", "module that calls configure() (and exports tasks): its backends are checked")
    .option("-u, --url <url>", "check this engine URL instead of the configured backends")
    .option("-b, --backend <name...>", "backend names to check (default: every backend the module configures, and any its tasks name)")
    .option("--json", "print the result as JSON")
    .addHelpText(
      "after",
      `
Examples:
  $ taskport check --url postgres://app@127.0.0.1:5432/app
  $ TASKPORT_URL=bullmq://127.0.0.1:6379 taskport check
  $ taskport check --module ./src/tasks.ts --backend default reports

As a container health check:
  HEALTHCHECK CMD taskport check --module ./dist/tasks.js || exit 1`,
    )
    .action((flags: CheckFlags) => runCheck(flags));
}

interface Checked {
  backend: string;
  target: string;
  ok: boolean;
  problems: string[];
}

async function runCheck(flags: CheckFlags): Promise<void> {
  const out = new Output(flags.json === true);
  let core: Core;
  const names = new Set(flags.backend ?? []);
  if (flags.module) {
    const { path, tasks } = await loadTasks(flags.module);
    core = await loadCore(path);
    if (!flags.backend) {
      // Every backend the app configured, and any its tasks name (an unconfigured name is a problem to report).
      for (const backend of core.configuredBackends()) names.add(backend.name);
      for (const task of tasks) if (typeof task.defaults.backend === "string") names.add(task.defaults.backend);
    }
  } else {
    core = await loadCore();
  }
  if (names.size === 0) names.add("default");

  const backends = flags.url ? [new core.Backend("default", flags.url)] : [...names].map((name) => core.getBackend(name));
  const results: Checked[] = [];
  for (const backend of backends) {
    const problems = await backend.check();
    results.push({
      backend: backend.name,
      target: backend.description,
      ok: problems.length === 0,
      problems: problems.map((p) => p.message),
    });
    await backend.close().catch(() => undefined);
  }
  await core.closeBackends().catch(() => undefined);

  const failing = results.filter((r) => !r.ok);
  if (out.json) {
    process.stdout.write(`${JSON.stringify({ ok: failing.length === 0, backends: results }, null, 2)}\n`);
  } else {
    for (const r of results) {
      process.stdout.write(`${r.ok ? "ok  " : "FAIL"} ${r.backend} (${r.target})\n`);
      for (const problem of r.problems) process.stdout.write(`     - ${problem}\n`);
    }
  }
  if (failing.length > 0) {
    throw new CliError(`${failing.length} of ${results.length} backend(s) have problems (listed above).`, EXIT.unhealthy);
  }
}
