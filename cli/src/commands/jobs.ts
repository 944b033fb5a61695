import type { JobInfo, JobStatus } from "@taskport/core";
import type { Command } from "commander";
import { CliError } from "../cli-error.ts";
import { parseInteger } from "../durations.ts";
import { type BackendFlags, withBackend, withBackendOptions } from "../inspect-backend.ts";
import { printTable } from "../table.ts";

interface JobsFlags extends BackendFlags {
  status?: string;
  limit: string;
  cursor?: string;
}

const STATUSES: readonly JobStatus[] = ["scheduled", "queued", "running", "succeeded", "failed", "cancelled"];

export function registerJobs(program: Command): void {
  withBackendOptions(
    program
      .command("jobs")
      .description("a queue's jobs, newest first, a page at a time (engines that can list jobs)")
      .argument("<queue>", "the queue")
      .option("-s, --status <status>", `only jobs in this status: ${STATUSES.join(", ")}`)
      .option("-l, --limit <n>", "jobs per page", "20")
      .option("--cursor <cursor>", "the next page, as printed under the previous one"),
  )
    .addHelpText(
      "after",
      `
Examples:
  $ taskport jobs emails --url bullmq://127.0.0.1:6379 --status failed
  $ taskport jobs emails --module ./src/tasks.ts --limit 50 --json`,
    )
    .action((queue: string, flags: JobsFlags) => runJobs(queue, flags));
}

async function runJobs(queue: string, flags: JobsFlags): Promise<void> {
  const status = flags.status as JobStatus | undefined;
  if (status !== undefined && !STATUSES.includes(status)) {
    throw new CliError(`--status must be one of ${STATUSES.join(", ")}; got "${flags.status}".`);
  }
  const limit = parseInteger(flags.limit, "--limit", 1);
  await withBackend(flags, async (backend) => {
    const page = await backend.jobs(queue, { limit, ...(status ? { status } : {}), ...(flags.cursor ? { cursor: flags.cursor } : {}) });
    if (flags.json) {
      process.stdout.write(`${JSON.stringify(page)}\n`);
      return;
    }
    printJobs(page.jobs);
    if (page.cursor) process.stdout.write(`more: --cursor ${page.cursor}\n`);
  });
}

/** Jobs as a table: id, task, status, attempts, when, and the error or result in one line. */
export function printJobs(jobs: readonly JobInfo[]): void {
  printTable(
    { id: "ID", task: "TASK", status: "STATUS", attempts: "ATTEMPTS", enqueued: "ENQUEUED", outcome: "RESULT / ERROR" },
    jobs.map((job) => ({
      id: job.id,
      task: job.name,
      status: job.status,
      attempts: `${job.attempt}/${job.maxAttempts}`,
      enqueued: job.enqueuedAt === undefined ? null : new Date(job.enqueuedAt).toISOString(),
      outcome: job.error
        ? `${job.error.name}: ${job.error.message}`.slice(0, 80)
        : job.result === undefined
          ? null
          : JSON.stringify(job.result).slice(0, 80),
    })),
  );
}
