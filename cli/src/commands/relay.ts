import { pathToFileURL } from "node:url";
import type { Backend } from "@taskport/core";
import type { Command } from "commander";
import { CliError, prefixed } from "../cli-error.ts";
import { ConnectionWatch } from "../connection-watch.ts";
import { parseDuration } from "../durations.ts";
import { EXIT } from "../exit-codes.ts";
import { type Core, loadCore } from "../load-core.ts";
import { resolveModulePath } from "../load-tasks.ts";
import { clock, exitAfterFlush, Output } from "../output.ts";

interface RelayFlags {
  module?: string;
  url?: string;
  outbox?: string;
  backend: string;
  giveUpAfter: string;
  json?: boolean;
}

/** How often a running relay says how many jobs it has handed over, when the count moved. */
const REPORT_EVERY_MS = 10_000;

export function registerRelay(program: Command): void {
  program
    .command("relay")
    .description(
      "hand the jobs committed to a backend's outbox over to its engine, until stopped (workers run a relay already; running more is safe)",
    )
    .option("-m, --module <file>", "module that calls configure(): the backend's engine and outbox come from there")
    .option("-u, --url <url>", "engine URL; overrides the module's configure() and TASKPORT_URL")
    .option("-o, --outbox <url>", "outbox URL, the database your transactions use (default TASKPORT_OUTBOX_URL); goes with --url")
    .option("-b, --backend <name>", "backend name: from the module's configure(), and the name the outbox's rows carry", "default")
    .option("--give-up-after <duration>", "exit (code 4) when the engine or the outbox stays unreachable this long after an error", "60s")
    .option("--json", "log JSON lines instead of human-readable ones")
    .addHelpText(
      "after",
      `
Examples:
  $ TASKPORT_URL=amqp://app@mq TASKPORT_OUTBOX_URL=postgres://app@db/app taskport relay
  $ taskport relay --url bullmq://127.0.0.1:6379 --outbox postgres://app@127.0.0.1:5432/app
  $ taskport relay --module ./dist/config.js --backend reports --json`,
    )
    .action((flags: RelayFlags) => runRelay(flags));
}

async function runRelay(flags: RelayFlags): Promise<void> {
  const out = new Output(flags.json === true);
  const giveUpAfterMs = parseDuration(flags.giveUpAfter, "--give-up-after");
  let core: Core;
  if (flags.module) {
    const path = resolveModulePath(flags.module);
    core = await loadCore(path);
    await import(pathToFileURL(path).href); // runs its configure()
  } else {
    core = await loadCore();
  }
  const backend = chooseBackend(core, flags);

  const problems = await backend.check();
  if (problems.length > 0) {
    for (const problem of problems) out.problem({ event: "check", problem: problem.message }, prefixed(problem.message));
    throw new CliError(`cannot start the relay: ${backend.description} is not usable (see above).`, EXIT.unhealthy);
  }

  let stopping = false;
  const stop = async (code: number, why: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    watch.stop();
    clearInterval(reporter);
    out.info({ event: "stopping", reason: why }, `${clock()} stopping (${why}): finishing the batch in hand`);
    const deadline = setTimeout(() => void exitAfterFlush(code === EXIT.ok ? EXIT.error : code), 30_000);
    deadline.unref();
    await lease.stop().catch(() => undefined);
    await backend.close().catch(() => undefined);
    const { relayed, errors } = lease.relay.stats;
    out.info({ event: "stopped", relayed, errors }, `${clock()} stopped after handing over ${relayed} job(s)`);
    await exitAfterFlush(code);
  };

  const watch = new ConnectionWatch(backend, {
    giveUpAfterMs,
    onRecovered: () => out.problem({ event: "recovered" }, `${clock()} reachable again; the relay goes on`),
    onGiveUp: (problem) => {
      out.problem(
        { event: "gave-up", problem, giveUpAfterMs },
        `${clock()} taskport: unreachable for ${giveUpAfterMs} ms (${problem}); exiting with code ${EXIT.connectionLost} so your supervisor restarts the relay`,
      );
      void stop(EXIT.connectionLost, "connection lost");
    },
  });
  const lease = await core.startRelay({
    backend,
    onError: (error) => {
      out.problem({ event: "error", error: error.message }, `${clock()} error    ${error.message}`);
      watch.trouble(error);
    },
  });
  let reported = 0;
  const reporter = setInterval(() => {
    const { relayed } = lease.relay.stats;
    if (relayed === reported) return;
    out.info(
      { event: "relayed", jobs: relayed - reported, total: relayed },
      `${clock()} handed over ${relayed - reported} job(s), ${relayed} in all`,
    );
    reported = relayed;
  }, REPORT_EVERY_MS);

  for (const signal of ["SIGTERM", "SIGINT"] as const) process.on(signal, () => void stop(EXIT.ok, signal));
  out.info(
    { event: "ready", pid: process.pid, backend: backend.description },
    `${clock()} taskport relay ${process.pid} ready: backend "${backend.name}" via ${backend.description}`,
  );
}

/** `--url` (with `--outbox` or TASKPORT_OUTBOX_URL), else the backend the app's configure() or the environment gives. */
function chooseBackend(core: Core, flags: RelayFlags): Backend {
  const outbox = flags.outbox ?? process.env[core.OUTBOX_URL_ENV];
  if (flags.url) return new core.Backend(flags.backend, outbox ? { url: flags.url, outbox } : flags.url);
  if (flags.outbox) throw new CliError("--outbox goes with --url: give the engine too, or configure both in the module's configure().");
  return core.getBackend(flags.backend);
}
