import type { Command } from "commander";
import { CliError, prefixed } from "../cli-error.ts";
import { ConnectionWatch } from "../connection-watch.ts";
import { DrainReport } from "../drain-report.ts";
import { parseDuration, parseInteger, parseList } from "../durations.ts";
import { EXIT } from "../exit-codes.ts";
import { logJobs } from "../job-log.ts";
import { loadCore } from "../load-core.ts";
import { loadTasks } from "../load-tasks.ts";
import { clock, exitAfterFlush, Output } from "../output.ts";
import { selectBackend } from "../select-backend.ts";

interface WorkerFlags {
  queues?: string;
  concurrency: string;
  grace: string;
  giveUpAfter: string;
  url?: string;
  backend?: string;
  drain: string[];
  drainReport: string;
  json?: boolean;
}

export function registerWorker(program: Command): void {
  program
    .command("worker")
    .description("run the tasks exported by a module until stopped (SIGTERM/SIGINT: graceful; a second signal forces)")
    .argument("<module>", "file that exports your tasks (.js, or .ts with erasable types)")
    .option("-q, --queues <names>", "comma-separated queues to consume (default: the queues the tasks are defined on)")
    .option("-c, --concurrency <n>", "jobs run at once", "10")
    .option("-g, --grace <duration>", "on shutdown, how long running jobs may finish before they are aborted and redelivered", "30s")
    .option("--give-up-after <duration>", "exit (code 4) when the engine stays unreachable this long after an error", "60s")
    .option("-u, --url <url>", "engine URL; overrides the module's configure() and TASKPORT_URL")
    .option("-b, --backend <name>", "backend name from the module's configure()", "default")
    .option(
      "-d, --drain <url>",
      "also run the jobs left on another engine (a URL, or a backend name from configure()), while new jobs go to --url; repeatable",
      (value: string, previous: string[]) => [...previous, value],
      [],
    )
    .option("--drain-report <interval>", "how often to log what is left on the drained engines (0: never)", "10s")
    .option("--json", "log JSON lines instead of human-readable ones")
    .addHelpText(
      "after",
      `
Examples:
  $ taskport worker ./src/tasks.ts
  $ taskport worker ./dist/tasks.js --url bullmq://127.0.0.1:6379 --concurrency 20
  $ TASKPORT_URL=postgres://app@db/app taskport worker ./src/tasks.ts --queues emails,reports --grace 2m --json
  $ taskport worker ./dist/tasks.js --url sqs://… --drain bullmq://127.0.0.1:6379   # moving from BullMQ to SQS`,
    )
    .action((module: string, flags: WorkerFlags) => runWorker(module, flags));
}

async function runWorker(module: string, flags: WorkerFlags): Promise<void> {
  const out = new Output(flags.json === true);
  const concurrency = parseInteger(flags.concurrency, "--concurrency", 1);
  const graceMs = parseDuration(flags.grace, "--grace");
  const giveUpAfterMs = parseDuration(flags.giveUpAfter, "--give-up-after");
  const drainReportMs = parseDuration(flags.drainReport, "--drain-report");
  const queues = flags.queues === undefined ? undefined : parseList(flags.queues);
  if (queues?.length === 0) throw new CliError("--queues needs at least one queue name, e.g. --queues default,emails.");

  const { path, tasks, schedules } = await loadTasks(module);
  const core = await loadCore(path);
  const backend = selectBackend(core, { url: flags.url, backend: flags.backend });
  const drained = flags.drain.map((target, i) =>
    target.includes("://") ? new core.Backend(`drain-${i + 1}`, target) : selectBackend(core, { backend: target }),
  );
  const backends = [backend, ...drained];

  for (const each of backends) {
    const problems = await each.check();
    if (problems.length === 0) continue;
    for (const problem of problems) out.problem({ event: "check", problem: problem.message }, prefixed(problem.message));
    throw new CliError(`cannot start the worker: ${each.description} is not usable (see above).`, EXIT.unhealthy);
  }

  const worker = new core.Worker({ tasks, schedules, concurrency, graceMs, backends, ...(queues ? { queues } : {}) });
  logJobs(worker, out);
  const drainReport = new DrainReport(drained, worker.queues, out, drainReportMs);

  let stopping = false;
  const stop = async (code: number, why: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    watch.stop();
    drainReport.stop();
    out.info(
      { event: "stopping", reason: why, running: worker.active, graceMs },
      `${clock()} stopping (${why}): waiting up to ${graceMs} ms for ${worker.active} running job(s); send the signal again to force`,
    );
    // Closing talks to the engine; if it is gone, do not hang past the grace period.
    const deadline = setTimeout(() => {
      out.problem({ event: "close-timeout" }, `${clock()} the engine did not confirm the shutdown in time; exiting anyway`);
      void exitAfterFlush(code === EXIT.ok ? EXIT.error : code);
    }, graceMs + 15_000);
    deadline.unref();
    await worker.close();
    await Promise.all(backends.map((each) => each.close().catch(() => undefined)));
    await core.closeBackends().catch(() => undefined);
    out.info({ event: "stopped" }, `${clock()} stopped`);
    clearInterval(keepAlive);
    await exitAfterFlush(code);
  };

  const watch = new ConnectionWatch(backends, {
    giveUpAfterMs,
    onRecovered: () => out.problem({ event: "recovered" }, `${clock()} engine reachable again; the worker goes on`),
    onGiveUp: (problem) => {
      out.problem(
        { event: "gave-up", problem, giveUpAfterMs },
        `${clock()} taskport: the engine has been unreachable for ${giveUpAfterMs} ms (${problem}); exiting with code ${EXIT.connectionLost} so your supervisor restarts the worker`,
      );
      void stop(EXIT.connectionLost, "connection lost");
    },
  });
  worker.on("error", ({ error }) => {
    out.problem({ event: "error", error: error.message }, `${clock()} error    ${error.message}`);
    watch.trouble(error);
  });

  let signals = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    signals++;
    if (signals === 1) {
      void stop(EXIT.ok, signal);
      return;
    }
    out.problem(
      { event: "forced", signal, running: worker.active },
      `${clock()} forced to stop (${signal} again): ${worker.active} running job(s) abandoned; the engine will deliver them again`,
    );
    void exitAfterFlush(EXIT.forced);
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
  // An in-process engine holds no socket: keep the process alive until a signal says stop.
  const keepAlive = setInterval(() => {}, 1 << 30);

  await worker.start();
  out.info(
    {
      event: "ready",
      pid: process.pid,
      backend: backend.description,
      ...(drained.length > 0 ? { draining: drained.map((each) => each.description) } : {}),
      tasks: worker.taskNames,
      queues: worker.queues,
      concurrency,
    },
    `${clock()} taskport worker ${process.pid} ready: ${worker.taskNames.length} task(s) (${worker.taskNames.join(", ")}) on queue(s) ${worker.queues.join(", ")}, concurrency ${concurrency}, via ${backend.description}${drained.length > 0 ? `, draining ${drained.map((each) => each.description).join(", ")}` : ""}`,
  );
  drainReport.start();
}
