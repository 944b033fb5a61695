import { type JobInfo, type JobStatus, type SerializedError, storedStatus } from "@taskport/core";
import type { JobRow } from "./statements.ts";

/** A job row as taskport reports it; a `scheduled` job whose time has come is `queued`. */
export function toJobInfo(row: JobRow, now: number): JobInfo {
  const status = storedStatus(row.state as JobStatus, row.run_at, now);
  const info: { -readonly [K in keyof JobInfo]: JobInfo[K] } = {
    id: row.id,
    name: row.name,
    queue: row.queue,
    status,
    payload: JSON.parse(row.payload),
    attempt: row.attempt,
    maxAttempts: row.max_attempts,
    enqueuedAt: row.enqueued_at,
  };
  if (row.result !== null) info.result = JSON.parse(row.result);
  if (row.error !== null) info.error = JSON.parse(row.error) as SerializedError;
  if (row.progress !== null) info.progress = JSON.parse(row.progress);
  if (status === "scheduled") info.runAt = row.run_at;
  if (row.finished_at !== null) info.finishedAt = row.finished_at;
  return info;
}
