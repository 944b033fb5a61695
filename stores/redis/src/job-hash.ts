import { type JobInfo, type JobStatus, type SerializedError, storedStatus } from "@taskport/core";

/** A job's hash as Redis returns it: field → text. */
export type JobFields = Readonly<Record<string, string | undefined>>;

/** HGETALL's reply inside a script's result is a flat list: field, value, field, value… */
export function fieldsOf(flat: readonly string[]): JobFields {
  const fields: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) fields[flat[i] as string] = flat[i + 1] as string;
  return fields;
}

/**
 * A pending record past its claim (its score in the pending set, `null` once confirmed) is an
 * enqueue that died before the engine had the job: no job at all.
 */
export function isDeadClaim(claimUntil: string | null, now: number): boolean {
  return claimUntil !== null && Number(claimUntil) < now;
}

/** The job as `get` reports it; `null` for an empty hash (no such key). */
export function toJobInfo(id: string, fields: JobFields, now: number): JobInfo | null {
  if (fields.status === undefined) return null;
  const runAt = optionalNumber(fields.runAt);
  const info: { -readonly [K in keyof JobInfo]: JobInfo[K] } = {
    id,
    name: fields.name ?? "",
    queue: fields.queue ?? "",
    status: storedStatus(fields.status as JobStatus, runAt, now),
    payload: JSON.parse(fields.payload ?? "null"),
    attempt: Number(fields.attempt ?? 0),
    maxAttempts: Number(fields.maxAttempts ?? 1),
  };
  const enqueuedAt = optionalNumber(fields.enqueuedAt);
  if (enqueuedAt !== undefined) info.enqueuedAt = enqueuedAt;
  if (fields.result !== undefined) info.result = JSON.parse(fields.result);
  if (fields.error !== undefined) info.error = JSON.parse(fields.error) as SerializedError;
  if (fields.progress !== undefined) info.progress = JSON.parse(fields.progress);
  if (runAt !== undefined) info.runAt = runAt;
  const finishedAt = optionalNumber(fields.finishedAt);
  if (finishedAt !== undefined) info.finishedAt = finishedAt;
  return info;
}

function optionalNumber(text: string | undefined): number | undefined {
  return text === undefined || text === "" ? undefined : Number(text);
}
