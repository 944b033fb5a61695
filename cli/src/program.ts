import { readFileSync } from "node:fs";
import { Command } from "commander";
import { registerCheck } from "./commands/check.ts";
import { registerConformance } from "./commands/conformance.ts";
import { registerDashboard } from "./commands/dashboard.ts";
import { registerDeadLetters } from "./commands/dead-letters.ts";
import { registerDiscard } from "./commands/discard.ts";
import { registerEnqueue } from "./commands/enqueue.ts";
import { registerJobs } from "./commands/jobs.ts";
import { registerPause } from "./commands/pause.ts";
import { registerQueues } from "./commands/queues.ts";
import { registerRedrive } from "./commands/redrive.ts";
import { registerRelay } from "./commands/relay.ts";
import { registerSchedules } from "./commands/schedules.ts";
import { registerStatus } from "./commands/status.ts";
import { registerWorker } from "./commands/worker.ts";
import { EXIT_CODES_HELP } from "./exit-codes.ts";

const { version } = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string };

/** The `taskport` command and its subcommands. */
export function createProgram(): Command {
  const program = new Command("taskport")
    .description("Run taskport workers, check configuration, enqueue and inspect jobs.")
    .version(version)
    .option("--verbose", "print stack traces with errors")
    // Set before the subcommands are added, so they inherit it: main() maps commander's errors to exit codes.
    .exitOverride()
    .showHelpAfterError("(add --help for usage)")
    .addHelpText(
      "after",
      `
The engine is chosen by --url, else by the configure() call in the module you pass, else by
TASKPORT_URL, else the in-process memory engine.

Examples:
  $ taskport worker ./src/tasks.ts --url bullmq://127.0.0.1:6379
  $ taskport relay --url bullmq://127.0.0.1:6379 --outbox postgres://app@127.0.0.1:5432/app
  $ taskport check --url postgres://app@127.0.0.1:5432/app
  $ taskport enqueue send-email '{"to":"ada@example.com"}' --wait
  $ taskport status 01J9Z3V4K8 --wait
  $ taskport schedules ./src/tasks.ts
  $ taskport queues --url bullmq://127.0.0.1:6379 --watch
  $ taskport conformance --url memory:// --markdown report.md
${EXIT_CODES_HELP}`,
    );
  registerWorker(program);
  registerRelay(program);
  registerCheck(program);
  registerEnqueue(program);
  registerStatus(program);
  registerSchedules(program);
  registerQueues(program);
  registerJobs(program);
  registerDeadLetters(program);
  registerRedrive(program);
  registerDiscard(program);
  registerPause(program);
  registerDashboard(program);
  registerConformance(program);
  for (const command of program.commands) command.addHelpText("after", EXIT_CODES_HELP);
  return program;
}
