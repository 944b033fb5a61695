import type { Backend, JobInfo } from "@taskport/core";
import { CliError } from "./cli-error.ts";
import { EXIT } from "./exit-codes.ts";
import type { Output } from "./output.ts";
import { ProgressDisplay } from "./progress-display.ts";

const FINAL = new Set(["succeeded", "failed", "cancelled"]);

/** Poll a job until it is final, showing its progress; CliError with the right code if it does not succeed. */
export async function waitForJob(backend: Backend, id: string, queue: string, timeoutMs: number | undefined): Promise<JobInfo> {
  const display = new ProgressDisplay();
  const deadline = timeoutMs === undefined ? Number.POSITIVE_INFINITY : Date.now() + timeoutMs;
  let pause = 50;
  try {
    for (;;) {
      const info = await getJobOrExplain(backend, id, queue);
      display.update(info);
      if (FINAL.has(info.status)) return info;
      if (Date.now() >= deadline) {
        throw new CliError(`job ${id} is still ${info.status} after ${timeoutMs} ms; it goes on in the engine.`, EXIT.timeout);
      }
      await new Promise((resolve) => setTimeout(resolve, Math.min(pause, Math.max(0, deadline - Date.now()))));
      pause = Math.min(pause * 2, 500);
    }
  } finally {
    display.done();
  }
}

/** The job's state, or one line saying why it cannot be read. */
export async function getJobOrExplain(backend: Backend, id: string, queue: string): Promise<JobInfo> {
  let info: JobInfo | null;
  try {
    info = await backend.getJob(id, queue);
  } catch (error) {
    if (error instanceof Error && error.name === "UnsupportedFeatureError") {
      throw new CliError(
        `${backend.description} does not store job status or results, so taskport cannot show job ${id}. ` +
          "Log from the handler, or choose an engine with results (memory in-process, BullMQ, bee-queue, pg-boss).",
        EXIT.unsupported,
        { cause: error },
      );
    }
    throw error;
  }
  if (!info) {
    const hint = backend.description.startsWith("memory:")
      ? " The memory engine lives inside one process: a job enqueued by another command is not visible here; use a server engine (--url or TASKPORT_URL)."
      : ` Check the id and --queue (jobs are looked up in queue "${queue}"); it may also have been removed after its retention.`;
    throw new CliError(`job ${id} not found in ${backend.description}.${hint}`, EXIT.notFound);
  }
  return info;
}

/** Print a finished job's outcome; exit 5 when it did not succeed. */
export function printFinal(out: Output, info: JobInfo): void {
  if (info.status === "succeeded") {
    out.info({ event: "result", id: info.id, status: info.status, result: info.result ?? null }, JSON.stringify(info.result ?? null));
    return;
  }
  const why = info.error ? `${info.error.name}: ${info.error.message}` : info.status;
  throw new CliError(`job ${info.id} ${info.status} after attempt ${info.attempt}: ${why}`, EXIT.failed);
}
