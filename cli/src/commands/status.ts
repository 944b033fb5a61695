import type { Command } from "commander";
import { parseDuration } from "../durations.ts";
import { type Core, loadCore } from "../load-core.ts";
import { importAppModule } from "../load-tasks.ts";
import { Output } from "../output.ts";
import { describe } from "../progress-display.ts";
import { selectBackend } from "../select-backend.ts";
import { getJobOrExplain, printFinal, waitForJob } from "../wait-for-job.ts";

interface StatusFlags {
  queue: string;
  module?: string;
  url?: string;
  backend?: string;
  wait?: boolean;
  timeout?: string;
  json?: boolean;
}

export function registerStatus(program: Command): void {
  program
    .command("status")
    .description("show a job's status, progress and result (engines that store them)")
    .argument("<id>", "job id, as printed by enqueue")
    .option("-q, --queue <name>", "the job's queue", "default")
    .option("-m, --module <file>", "module that calls configure()")
    .option("-u, --url <url>", "engine URL; overrides configure() and TASKPORT_URL")
    .option("-b, --backend <name>", "backend name from the module's configure()")
    .option("-w, --wait", "wait until the job finishes, showing its progress live; exit 5 if it fails")
    .option("--timeout <duration>", "with --wait, give up after this long (exit 7)")
    .option("--json", "print JSON")
    .addHelpText(
      "after",
      `
Examples:
  $ taskport status 01J9Z3V4K8 --url postgres://app@127.0.0.1:5432/app
  $ taskport status 01J9Z3V4K8 --queue reports --wait --timeout 5m`,
    )
    .action((id: string, flags: StatusFlags) => runStatus(id, flags));
}

async function runStatus(id: string, flags: StatusFlags): Promise<void> {
  const out = new Output(flags.json === true);
  let core: Core;
  if (flags.module) {
    const { absolute } = await importAppModule(flags.module);
    core = await loadCore(absolute);
  } else {
    core = await loadCore();
  }
  const backend = selectBackend(core, { url: flags.url, backend: flags.backend });
  try {
    if (flags.wait) {
      const timeoutMs = flags.timeout === undefined ? undefined : parseDuration(flags.timeout, "--timeout");
      printFinal(out, await waitForJob(backend, id, flags.queue, timeoutMs));
      return;
    }
    const info = await getJobOrExplain(backend, id, flags.queue);
    if (out.json) {
      process.stdout.write(`${JSON.stringify(info)}\n`);
      return;
    }
    const lines = [describe(info)];
    if (info.result !== undefined) lines.push(`result: ${JSON.stringify(info.result)}`);
    if (info.error) lines.push(`error: ${info.error.name}: ${info.error.message}`);
    if (info.runAt) lines.push(`runs at: ${new Date(info.runAt).toISOString()}`);
    process.stdout.write(`${lines.join("\n")}\n`);
  } finally {
    await backend.close().catch(() => undefined);
    await core.closeBackends().catch(() => undefined);
  }
}
