import type { Command } from "commander";
import { type BackendFlags, withBackend, withBackendOptions } from "../inspect-backend.ts";

export function registerRedrive(program: Command): void {
  withBackendOptions(
    program
      .command("redrive")
      .description("run dead letters of a queue again (those given by id, or all): queued with their attempts starting over")
      .argument("<queue>", "the queue")
      .argument("[ids...]", "job ids, as listed by dead-letters (default: every dead letter)"),
  )
    .addHelpText(
      "after",
      `
Examples:
  $ taskport redrive emails --url bullmq://127.0.0.1:6379
  $ taskport redrive emails 6f1c0d9e-… 0b7a41c2-… --module ./src/tasks.ts`,
    )
    .action((queue: string, ids: string[], flags: BackendFlags) => runRedrive(queue, ids, flags));
}

async function runRedrive(queue: string, ids: string[], flags: BackendFlags): Promise<void> {
  await withBackend(flags, async (backend) => {
    const count = await backend.redrive(queue, ids.length > 0 ? ids : undefined);
    if (flags.json) process.stdout.write(`${JSON.stringify({ queue, redriven: count })}\n`);
    else process.stdout.write(`redrove ${count} job(s) of ${queue}\n`);
  });
}
