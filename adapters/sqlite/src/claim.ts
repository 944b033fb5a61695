import type { JobChange, JobStatus, SerializedError } from "@taskport/core";
import type { ClaimedRow, Statements } from "./statements.ts";

/** The error of a job whose worker stopped without settling it on its extra start as well. */
export const WORKER_LOST: SerializedError = Object.freeze({
  name: "WorkerLostError",
  message:
    "the worker running this job stopped without settling it (killed, crashed, or stalled past its lease) on its last attempt and on the extra start it was given after that; it is not run again. Redrive it once the cause is fixed.",
});
const WORKER_LOST_JSON = JSON.stringify(WORKER_LOST);

export interface Claim {
  readonly rows: ClaimedRow[];
  /** Jobs that a dead worker's expired lease ended for good (failed, or cancelled). */
  readonly ended: JobChange[];
}

/**
 * Inside a write transaction: take back jobs whose lease ran out, move due delayed jobs of `queues`
 * to `queued`, and lease up to `limit` of the best jobs of `queues` that are not paused — highest
 * priority first, then earliest due, then first inserted. Returns them in that order.
 */
export function claimJobs(s: Statements, queues: readonly string[], limit: number, owner: string, now: number, leaseUntil: number): Claim {
  const ended: JobChange[] = [];
  for (const row of s.recoverExpired.all(WORKER_LOST_JSON, now, now) as { id: string; queue: string; state: JobStatus }[]) {
    if (row.state !== "queued") ended.push({ id: row.id, status: row.state });
  }
  const paused = new Set((s.pausedQueues.all() as { queue: string }[]).map((row) => row.queue));
  const active = queues.filter((queue) => !paused.has(queue));
  for (const queue of active) s.promoteDue.run(queue, now);
  if (active.length === 0 || limit <= 0) return { rows: [], ended };
  let rows: ClaimedRow[];
  if (active.length === 1) {
    rows = s.claimFromQueue.all(owner, leaseUntil, active[0] as string, limit) as unknown as ClaimedRow[];
  } else {
    // One ordered index walk per queue (SQLite cannot merge them in order), merged here.
    const best: { seq: number; priority: number; run_at: number }[] = [];
    for (const queue of active) best.push(...(s.candidates.all(queue, limit) as { seq: number; priority: number; run_at: number }[]));
    best.sort(inClaimOrder);
    rows = [];
    for (const candidate of best.slice(0, limit)) {
      const row = s.claimOne.get(owner, leaseUntil, candidate.seq) as ClaimedRow | undefined;
      if (row) rows.push(row);
    }
  }
  rows.sort(inClaimOrder); // RETURNING gives rows in no particular order
  return { rows, ended };
}

function inClaimOrder(a: { seq: number; priority: number; run_at: number }, b: { seq: number; priority: number; run_at: number }): number {
  return b.priority - a.priority || a.run_at - b.run_at || a.seq - b.seq;
}

/** Whether a claim could find anything now, read without taking the write lock. */
export function mayClaim(s: Statements, queues: readonly string[], now: number): boolean {
  if (s.anyExpired.get(now)) return true;
  const paused = new Set((s.pausedQueues.all() as { queue: string }[]).map((row) => row.queue));
  for (const queue of queues) {
    if (!paused.has(queue) && (s.anyReady.get(queue) || s.anyDue.get(queue, now))) return true;
  }
  return false;
}

/** The earliest due time of a delayed job in `queues`, or undefined. */
export function nextDueAt(s: Statements, queues: readonly string[]): number | undefined {
  let next: number | undefined;
  for (const queue of queues) {
    const at = (s.nextDue.get(queue) as { at: number | null } | undefined)?.at;
    if (at !== null && at !== undefined && (next === undefined || at < next)) next = at;
  }
  return next;
}
