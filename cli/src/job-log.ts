import type { Worker } from "@taskport/core";
import { clock, type Output } from "./output.ts";

/** Log each job's start and end (and retries, failures, progress in JSON) as the worker runs it. */
export function logJobs(worker: Worker, out: Output): void {
  worker.on("started", ({ job, attempt }) => {
    out.info(
      { event: "started", task: job.name, id: job.id, queue: job.queue, attempt },
      `${clock()} start    ${job.name} ${job.id} (queue ${job.queue}, attempt ${attempt})`,
    );
  });
  worker.on("succeeded", ({ job, attempt, durationMs }) => {
    out.info(
      { event: "succeeded", task: job.name, id: job.id, queue: job.queue, attempt, durationMs: Math.round(durationMs) },
      `${clock()} done     ${job.name} ${job.id} in ${Math.round(durationMs)} ms`,
    );
  });
  worker.on("retrying", ({ job, attempt, error, retryInMs }) => {
    out.info(
      { event: "retrying", task: job.name, id: job.id, queue: job.queue, attempt, error: error.message, retryInMs },
      `${clock()} retry    ${job.name} ${job.id} attempt ${attempt} failed: ${error.message}; next attempt in ${retryInMs} ms`,
    );
  });
  worker.on("failed", ({ job, attempt, error }) => {
    out.info(
      { event: "failed", task: job.name, id: job.id, queue: job.queue, attempt, error: error.message },
      `${clock()} failed   ${job.name} ${job.id} after attempt ${attempt}: ${error.message}`,
    );
  });
  if (out.json) {
    worker.on("progress", ({ job, attempt, value }) => {
      out.info({ event: "progress", task: job.name, id: job.id, queue: job.queue, attempt, value }, "");
    });
  }
}
