import type { Command } from "commander";
import { parseInteger } from "../durations.ts";
import { type BackendFlags, withBackend, withBackendOptions } from "../inspect-backend.ts";
import { printJobs } from "./jobs.ts";

interface DeadLettersFlags extends BackendFlags {
  limit: string;
}

export function registerDeadLetters(program: Command): void {
  withBackendOptions(
    program
      .command("dead-letters")
      .description("jobs of a queue that failed for good, newest first, with their errors")
      .argument("<queue>", "the queue")
      .option("-l, --limit <n>", "at most this many", "20"),
  )
    .addHelpText(
      "after",
      `
Examples:
  $ taskport dead-letters emails --url amqp://guest:guest@127.0.0.1:5672
  $ taskport dead-letters emails --module ./src/tasks.ts --json`,
    )
    .action((queue: string, flags: DeadLettersFlags) => runDeadLetters(queue, flags));
}

async function runDeadLetters(queue: string, flags: DeadLettersFlags): Promise<void> {
  const limit = parseInteger(flags.limit, "--limit", 1);
  await withBackend(flags, async (backend) => {
    const letters = await backend.deadLetters(queue, limit);
    if (flags.json) process.stdout.write(`${JSON.stringify(letters)}\n`);
    else printJobs(letters);
  });
}
