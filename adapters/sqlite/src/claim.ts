import { type JobChange, type JobStatus, serializeError, WorkerLostError } from "@taskport/core";
import { ORIGIN } from "./sqlite-errors.ts";
import type { ClaimedRow, Statements } from "./statements.ts";

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
  const recovered = s.recoverExpired.all(now, now, now) as { seq: number; id: string; state: JobStatus; max_attempts: number }[];
  for (const row of recovered) {
    if (row.state === "queued") continue;
    // Its extra start died too: core's WorkerLostError, as a worker would report it.
    if (row.state === "failed") s.setError.run(JSON.stringify(serializeError(new WorkerLostError(ORIGIN, row.max_attempts))), row.seq);
    ended.push({ id: row.id, status: row.state });
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
