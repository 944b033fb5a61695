import type { Command } from "commander";
import { CliError } from "../cli-error.ts";
import { parseInteger } from "../durations.ts";
import { EXIT } from "../exit-codes.ts";
import { type Core, loadCore } from "../load-core.ts";
import { importAppModule } from "../load-tasks.ts";
import { clock, Output } from "../output.ts";

interface DashboardFlags {
  module?: string;
  url?: string[];
  port: string;
  host: string;
  token?: string;
  json?: boolean;
}

export function registerDashboard(program: Command): void {
  program
    .command("dashboard")
    .description("serve the web dashboard: queues with live counts and lag, recent jobs, dead letters with redrive and cancel")
    .option("-m, --module <file>", "module that calls configure(): every backend it configures is shown")
    .option("-u, --url <url>", "an engine URL to show (repeat for several); overrides configure() and TASKPORT_URL", collect, [])
    .option("-p, --port <port>", "port to listen on", "4000")
    .option("--host <address>", "address to listen on; anything but 127.0.0.1 needs --token", "127.0.0.1")
    .option("--token <token>", "required to see or act (or TASKPORT_DASHBOARD_TOKEN)")
    .option("--json", "log JSON lines")
    .addHelpText(
      "after",
      `
Examples:
  $ taskport dashboard --url bullmq://127.0.0.1:6379
  $ taskport dashboard --module ./src/tasks.ts --port 8080
  $ TASKPORT_DASHBOARD_TOKEN=$(openssl rand -hex 24) taskport dashboard --host 0.0.0.0 --url postgres://app@db/app`,
    )
    .action((flags: DashboardFlags) => runDashboard(flags));
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

async function runDashboard(flags: DashboardFlags): Promise<void> {
  const out = new Output(flags.json === true);
  const port = parseInteger(flags.port, "--port", 0);
  const token = flags.token ?? process.env.TASKPORT_DASHBOARD_TOKEN;
  let dashboard: typeof import("@taskport/dashboard");
  try {
    dashboard = await import("@taskport/dashboard");
  } catch (error) {
    throw new CliError("taskport dashboard needs the dashboard package: npm install @taskport/dashboard", EXIT.usage, { cause: error });
  }
  const core: Core = flags.module ? await loadCore((await importAppModule(flags.module)).absolute) : await loadCore();
  const urls = flags.url ?? [];
  const backends =
    urls.length > 0 ? urls.map((url, i) => new core.Backend(urls.length === 1 ? "default" : `backend-${i + 1}`, url)) : undefined;
  const served = await dashboard.serveDashboard({
    port,
    host: flags.host,
    ...(token ? { token } : {}),
    backends: () => backends ?? core.configuredBackends(),
  });
  out.info({ event: "ready", url: served.url }, `${clock()} taskport dashboard on ${served.url}${token ? " (token required)" : ""}`);
  const stop = async () => {
    await served.close();
    await Promise.allSettled((backends ?? core.configuredBackends()).map((backend) => backend.close()));
    process.exit(EXIT.ok);
  };
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
}
