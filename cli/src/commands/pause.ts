import type { Command } from "commander";
import { type BackendFlags, withBackend, withBackendOptions } from "../inspect-backend.ts";

/** `taskport pause` and `taskport resume`: workers in every process stop taking a queue's jobs, and start again. */
export function registerPause(program: Command): void {
  for (const action of ["pause", "resume"] as const) {
    withBackendOptions(
      program
        .command(action)
        .description(
          action === "pause"
            ? "stop workers in every process from taking a queue's jobs (running ones finish; enqueues are still accepted)"
            : "let workers take a paused queue's jobs again",
        )
        .argument("<queue>", "the queue"),
    )
      .addHelpText(
        "after",
        `
Examples:
  $ taskport ${action} emails --url bullmq://127.0.0.1:6379
  $ taskport ${action} emails --module ./src/tasks.ts`,
      )
      .action((queue: string, flags: BackendFlags) =>
        withBackend(flags, async (backend) => {
          await backend[action](queue);
          if (flags.json) process.stdout.write(`${JSON.stringify({ queue, [action === "pause" ? "paused" : "resumed"]: true })}\n`);
          else process.stdout.write(`${action === "pause" ? "paused" : "resumed"} ${queue}\n`);
        }),
      );
  }
}
