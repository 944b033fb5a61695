import { createHash } from "node:crypto";

/**
 * The job id of a schedule's tick: a name-based UUID (version 5 layout over SHA-1), the same in
 * every process, so that every worker enqueueing one tick names one job.
 */
export function tickJobId(schedule: string, tickAt: number): string {
  const hex = createHash("sha1").update(`taskport-schedule\u0000${schedule}\u0000${tickAt}`).digest("hex");
  const variant = ((Number.parseInt(hex.slice(16, 18), 16) & 0x3f) | 0x80).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${variant}${hex.slice(18, 20)}-${hex.slice(20, 32)}`;
}

/** The deduplication key of a schedule's tick: held from the first enqueue until the tick's job finishes. */
export function tickKey(schedule: string, tickAt: number): string {
  return `schedule:${schedule}:${new Date(tickAt).toISOString()}`;
}
