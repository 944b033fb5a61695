import type { Command } from "commander";
import { type BackendFlags, withBackend, withBackendOptions } from "../inspect-backend.ts";

export function registerDiscard(program: Command): void {
  withBackendOptions(
    program
      .command("discard")
      .description("remove dead letters of a queue for good (those given by id, or all): they never run again and their record is gone")
      .argument("<queue>", "the queue")
      .argument("[ids...]", "job ids, as listed by dead-letters (default: every dead letter)"),
  )
    .addHelpText(
      "after",
      `
Ids that are not dead letters of the queue are left alone and not counted.

Examples:
  $ taskport discard emails 6f1c0d9e-… --url bullmq://127.0.0.1:6379
  $ taskport discard emails --module ./src/tasks.ts`,
    )
    .action((queue: string, ids: string[], flags: BackendFlags) => runDiscard(queue, ids, flags));
}

async function runDiscard(queue: string, ids: string[], flags: BackendFlags): Promise<void> {
  await withBackend(flags, async (backend) => {
    const count = await backend.discardDeadLetters(queue, ids.length > 0 ? ids : undefined);
    if (flags.json) process.stdout.write(`${JSON.stringify({ queue, discarded: count })}\n`);
    else process.stdout.write(`discarded ${count} job(s) of ${queue}\n`);
  });
}
