import { type JobInfo, type JobStatus, type SerializedError, storedStatus } from "@taskport/core";

/** A job's record as the statements read it (times in epoch ms, JSON as text). */
export interface JobRow {
  readonly id: string;
  readonly name: string;
  readonly queue: string;
  readonly status: JobStatus;
  readonly payload: string;
  readonly attempt: number;
  readonly max_attempts: number;
  readonly result: string | null;
  readonly error: string | null;
  readonly progress: string | null;
  readonly run_at: number | null;
  readonly enqueued_at: number;
  readonly finished_at: number | null;
}

export function toInfo(row: JobRow): JobInfo {
  const info: { -readonly [K in keyof JobInfo]: JobInfo[K] } = {
    id: row.id,
    name: row.name,
    queue: row.queue,
    status: storedStatus(row.status, row.run_at ?? undefined, Date.now()),
    payload: JSON.parse(row.payload),
    attempt: row.attempt,
    maxAttempts: row.max_attempts,
    enqueuedAt: row.enqueued_at,
  };
  if (row.result !== null) info.result = JSON.parse(row.result);
  if (row.error !== null) info.error = JSON.parse(row.error) as SerializedError;
  if (row.progress !== null) info.progress = JSON.parse(row.progress);
  if (row.run_at !== null) info.runAt = row.run_at;
  if (row.finished_at !== null) info.finishedAt = row.finished_at;
  return info;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Job ids are core's UUIDs; anything else cannot be in the table (its `id` column is a uuid). */
export function isJobId(id: string): boolean {
  return UUID.test(id);
}
