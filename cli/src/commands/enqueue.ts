import type { AnyTask, EnqueueOptions, JsonValue } from "@taskport/core";
import type { Command } from "commander";
import { CliError } from "../cli-error.ts";
import { parseDuration, parseInteger } from "../durations.ts";
import { EXIT } from "../exit-codes.ts";
import { type Core, loadCore } from "../load-core.ts";
import { loadTasks } from "../load-tasks.ts";
import { Output } from "../output.ts";
import { selectBackend } from "../select-backend.ts";
import { printFinal, waitForJob } from "../wait-for-job.ts";

interface EnqueueFlags {
  module?: string;
  url?: string;
  backend?: string;
  queue?: string;
  priority?: string;
  delay?: string;
  runAt?: string;
  dedupe?: string;
  attempts?: string;
  timeout?: string;
  wait?: boolean;
  waitTimeout?: string;
  json?: boolean;
}

export function registerEnqueue(program: Command): void {
  program
    .command("enqueue")
    .description("enqueue one job of a task, with the same per-call options as task.enqueue()")
    .argument("<task>", "task name")
    .argument("[payload]", "payload as JSON (default: null); - reads it from stdin")
    .option("-m, --module <file>", "module exporting the task: its queue, priority, retry and timeout defaults apply")
    .option("-u, --url <url>", "engine URL; overrides configure() and TASKPORT_URL")
    .option("-b, --backend <name>", "backend name from the module's configure()")
    .option("-q, --queue <name>", "queue (default: the task's, else default)")
    .option("-p, --priority <n>", "priority from -100 to 100, higher runs first")
    .option("-d, --delay <duration>", "start no earlier than this from now (30, 30s, 500ms, 5m)")
    .option("--run-at <time>", "start no earlier than this ISO 8601 time")
    .option("--dedupe <key>", "deduplication key: a no-op while a job with this key is pending or running")
    .option("--attempts <n>", "attempts in all, including the first")
    .option("--timeout <duration>", "abort the handler after this long")
    .option("-w, --wait", "wait for the job to finish and print its result (engines that store results)")
    .option("--wait-timeout <duration>", "with --wait, give up after this long (exit 7)")
    .option("--json", "print JSON")
    .addHelpText(
      "after",
      `
Examples:
  $ taskport enqueue send-email '{"to":"ada@example.com"}' --url bullmq://127.0.0.1:6379
  $ taskport enqueue nightly-report --delay 10m --priority 50 --dedupe report-2026-01-31
  $ echo '{"id":42}' | taskport enqueue resize-image - --module ./src/tasks.ts --wait`,
    )
    .action((name: string, payload: string | undefined, flags: EnqueueFlags) => runEnqueue(name, payload, flags));
}

async function runEnqueue(name: string, payloadText: string | undefined, flags: EnqueueFlags): Promise<void> {
  const out = new Output(flags.json === true);
  const payload = parsePayload(payloadText === "-" ? await readStdin() : payloadText);
  const options = enqueueOptions(flags);

  let core: Core;
  let task: AnyTask;
  if (flags.module) {
    const loaded = await loadTasks(flags.module);
    core = await loadCore(loaded.path);
    const found = loaded.tasks.find((t) => t.name === name);
    if (!found) {
      throw new CliError(`${flags.module} exports no task named "${name}". It exports: ${loaded.tasks.map((t) => t.name).join(", ")}.`);
    }
    task = found;
  } else {
    core = await loadCore();
    // The producer never runs the handler: a name is all an engine needs to route the job.
    task = core.defineTask(name, () => {
      throw new Error("taskport enqueue: the CLI's stand-in task never runs");
    });
  }
  const backend = selectBackend(core, { url: flags.url, backend: flags.backend });
  const inProcess = (await backend.adapter()).name === "memory";
  if (inProcess && flags.wait) {
    throw new CliError(
      `--wait cannot work with ${backend.description}: the in-process engine lives only as long as this command, and no worker can see its jobs. Use a server engine (--url or TASKPORT_URL).`,
    );
  }
  try {
    const [handle] = await backend.enqueue(task, [payload], options);
    if (!handle) throw new CliError("the engine returned no job for the enqueue.", EXIT.error);
    out.info(
      { event: "enqueued", id: handle.id, task: name, queue: handle.queue, status: handle.status, deduplicated: handle.deduplicated },
      `enqueued ${name} as ${handle.id} on queue ${handle.queue} (${handle.deduplicated ? "deduplicated: an existing job has this key" : handle.status})`,
    );
    if (inProcess) {
      process.stderr.write(
        `taskport: warning: ${backend.description} is the in-process engine; this job is gone when the command exits. Use a server engine (--url or TASKPORT_URL) to reach a worker.\n`,
      );
    }
    if (flags.wait) {
      const timeoutMs = flags.waitTimeout === undefined ? undefined : parseDuration(flags.waitTimeout, "--wait-timeout");
      const info = await waitForJob(backend, handle.id, handle.queue, timeoutMs);
      printFinal(out, info);
    }
  } finally {
    await backend.close().catch(() => undefined);
    await core.closeBackends().catch(() => undefined);
  }
}

function parsePayload(text: string | undefined): JsonValue {
  if (text === undefined || text.trim() === "") return null;
  try {
    return JSON.parse(text) as JsonValue;
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new CliError(`the payload is not valid JSON (${reason}). Quote it for your shell, e.g. '{"to":"ada@example.com"}'.`);
  }
}

function enqueueOptions(flags: EnqueueFlags): EnqueueOptions {
  const options: { -readonly [K in keyof EnqueueOptions]: EnqueueOptions[K] } = {};
  if (flags.queue !== undefined) options.queue = flags.queue;
  if (flags.priority !== undefined) {
    const priority = Number(flags.priority);
    if (!Number.isInteger(priority)) throw new CliError(`--priority must be a whole number from -100 to 100, got "${flags.priority}".`);
    options.priority = priority;
  }
  if (flags.delay !== undefined && flags.runAt !== undefined) throw new CliError("--delay and --run-at were both given; pass one of them.");
  if (flags.delay !== undefined) options.delayMs = parseDuration(flags.delay, "--delay");
  if (flags.runAt !== undefined) {
    const time = Date.parse(flags.runAt);
    if (Number.isNaN(time)) throw new CliError(`--run-at must be an ISO 8601 time such as 2026-01-31T18:00:00Z, got "${flags.runAt}".`);
    options.runAt = time;
  }
  if (flags.dedupe !== undefined) options.deduplicationKey = flags.dedupe;
  if (flags.attempts !== undefined) options.attempts = parseInteger(flags.attempts, "--attempts", 1);
  if (flags.timeout !== undefined) options.timeoutMs = parseDuration(flags.timeout, "--timeout");
  return options;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}
