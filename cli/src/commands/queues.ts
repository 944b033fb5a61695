import type { QueueStats } from "@taskport/core";
import type { Command } from "commander";
import { parseDuration, parseList } from "../durations.ts";
import { type BackendFlags, withBackend, withBackendOptions } from "../inspect-backend.ts";
import { printTable } from "../table.ts";

interface QueuesFlags extends BackendFlags {
  queues?: string;
  watch?: string | boolean;
}

export function registerQueues(program: Command): void {
  withBackendOptions(
    program
      .command("queues")
      .description("a table of every queue's jobs per status and how long the oldest waiting one has waited (engines with queue stats)")
      .option("-q, --queues <names>", "comma-separated queues (default: every queue the engine can list)")
      .option("-w, --watch [interval]", "refresh every interval (default 2s) until interrupted"),
  )
    .addHelpText(
      "after",
      `
Examples:
  $ taskport queues --url bullmq://127.0.0.1:6379
  $ taskport queues --module ./src/tasks.ts --queues emails,reports --watch 5s
  $ taskport queues --url postgres://app@db/app --json`,
    )
    .action((flags: QueuesFlags) => runQueues(flags));
}

async function runQueues(flags: QueuesFlags): Promise<void> {
  const queues = flags.queues === undefined ? undefined : parseList(flags.queues);
  const intervalMs =
    flags.watch === undefined || flags.watch === false ? undefined : parseDuration(flags.watch === true ? "2s" : flags.watch, "--watch");
  await withBackend(flags, async (backend) => {
    for (;;) {
      const stats = await backend.stats(queues);
      if (flags.json) process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), queues: stats })}\n`);
      else {
        if (intervalMs !== undefined) process.stdout.write("\u001b[2J\u001b[H");
        print(stats);
      }
      if (intervalMs === undefined) return;
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  });
}

function print(stats: readonly QueueStats[]): void {
  printTable(
    {
      queue: "QUEUE",
      scheduled: "SCHEDULED",
      queued: "QUEUED",
      running: "RUNNING",
      succeeded: "SUCCEEDED",
      failed: "FAILED",
      cancelled: "CANCELLED",
      wait: "OLDEST WAIT",
      paused: "PAUSED",
    },
    stats.map((q) => ({
      queue: q.queue,
      ...q.counts,
      wait: q.oldestQueuedAgeMs === undefined ? null : age(q.oldestQueuedAgeMs),
      paused: q.paused ? "yes" : null,
    })),
  );
}

/** 850 ms, 12.3 s, 4 m 10 s, 3 h 2 m. */
function age(ms: number): string {
  if (ms < 1_000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1_000).toFixed(1)} s`;
  if (ms < 3_600_000) return `${Math.floor(ms / 60_000)} m ${Math.floor((ms % 60_000) / 1_000)} s`;
  return `${Math.floor(ms / 3_600_000)} h ${Math.floor((ms % 3_600_000) / 60_000)} m`;
}
