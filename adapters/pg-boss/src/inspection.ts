import { type JobInfo, type JobListOptions, type JobPage, type JobStatus, type QueueStats, ValidationError } from "@taskport/core";
import { isJobData, payloadOf, resultOf } from "./job-data.ts";
import type { Executor } from "./transaction.ts";

/**
 * Inspection as SQL over pg-boss's `job` and `queue` tables. pg-boss's own counts (`getQueueStats`,
 * the `queue` table's `*_count` columns) are refreshed by its monitor every few seconds, so they
 * would show a job enqueued a moment ago as not there yet: these read the jobs themselves.
 */

/** The queues pg-boss knows, by name. */
export async function queueNames(db: Executor, schema: string): Promise<string[]> {
  const { rows } = await db.executeSql(`SELECT name FROM ${schema}.queue ORDER BY name`);
  return (rows as { name: string }[]).map((row) => row.name);
}

/** Counts per status and the oldest ready job's wait, one statement for all `queues`, timed by the database's clock. */
export async function queueStats(db: Executor, schema: string, queues: readonly string[]): Promise<QueueStats[]> {
  const { rows } = await db.executeSql(
    `SELECT name, state::text AS state,
       count(*) FILTER (WHERE start_after <= ${schema}.job_now())::int AS ready,
       count(*) FILTER (WHERE start_after > ${schema}.job_now())::int AS later,
       (extract(epoch FROM ${schema}.job_now() - min(start_after) FILTER (WHERE start_after <= ${schema}.job_now())) * 1000)::float8 AS oldest_ms
     FROM ${schema}.job WHERE name = ANY($1::text[]) GROUP BY name, state`,
    [queues],
  );
  const byQueue = new Map<string, { counts: Record<JobStatus, number>; oldest?: number }>(
    queues.map((queue) => [queue, { counts: { scheduled: 0, queued: 0, running: 0, succeeded: 0, failed: 0, cancelled: 0 } }]),
  );
  for (const row of rows as { name: string; state: string; ready: number; later: number; oldest_ms: number | null }[]) {
    const entry = byQueue.get(row.name);
    if (!entry) continue;
    const total = row.ready + row.later;
    switch (row.state) {
      case "created":
      case "retry":
        entry.counts.queued += row.ready;
        entry.counts.scheduled += row.later;
        if (row.oldest_ms !== null) entry.oldest = Math.max(entry.oldest ?? 0, Math.max(0, Math.round(row.oldest_ms)));
        break;
      case "active":
        entry.counts.running += total;
        break;
      case "completed":
        entry.counts.succeeded += total;
        break;
      case "cancelled":
        entry.counts.cancelled += total;
        break;
      default:
        entry.counts.failed += total;
    }
  }
  return [...byQueue].map(([queue, { counts, oldest }]) => ({
    queue,
    counts,
    ...(oldest !== undefined ? { oldestQueuedAgeMs: oldest } : {}),
  }));
}

/** The condition on a job row for each status: a created or retry job counts as scheduled until its `start_after`. */
function statusCondition(schema: string, status: JobStatus): string {
  switch (status) {
    case "queued":
      return `state < 'active' AND start_after <= ${schema}.job_now()`;
    case "scheduled":
      return `state < 'active' AND start_after > ${schema}.job_now()`;
    case "running":
      return "state = 'active'";
    case "succeeded":
      return "state = 'completed'";
    case "cancelled":
      return "state = 'cancelled'";
    case "failed":
      return "state = 'failed'";
  }
}

interface JobRow {
  id: string;
  state: string;
  data: unknown;
  output: Record<string, unknown> | null;
  retry_count: number;
  started_on: string | null;
  start_after: string;
  completed_on: string | null;
  created: string;
  due: boolean;
}

/**
 * A page of a queue's jobs, newest first by `created_on` (ties by id); the cursor is the last job's
 * `created_on`, as PostgreSQL's text (to the microsecond), and id. Jobs of other producers are left out.
 */
export async function jobPage(db: Executor, schema: string, queue: string, options: JobListOptions): Promise<JobPage> {
  const values: unknown[] = [queue, options.limit + 1];
  const conditions = ["name = $1"];
  if (options.status) conditions.push(statusCondition(schema, options.status));
  if (options.cursor !== undefined) {
    const match = /^(.+)\|([0-9a-f-]{36})$/i.exec(options.cursor);
    if (!match || Number.isNaN(Date.parse(match[1] as string))) {
      throw new ValidationError("pg-boss", `cursor "${options.cursor}" was not returned by listJobs; pass the previous page's cursor.`);
    }
    values.push(match[1], match[2]);
    conditions.push("(created_on, id) < ($3::timestamptz, $4::uuid)");
  }
  const { rows } = await db.executeSql(
    `SELECT id, state::text AS state, data, output, retry_count, started_on, start_after, completed_on,
       created_on::text AS created, start_after <= ${schema}.job_now() AS due
     FROM ${schema}.job WHERE ${conditions.join(" AND ")} ORDER BY created_on DESC, id DESC LIMIT $2`,
    values,
  );
  const all = rows as JobRow[];
  const page = all.slice(0, options.limit);
  const jobs = page.flatMap((row) => {
    const info = toJobInfo(row, queue);
    return info ? [info] : [];
  });
  const last = page[page.length - 1];
  return all.length > options.limit && last ? { jobs, cursor: `${last.created}|${last.id}` } : { jobs };
}

function toJobInfo(row: JobRow, queue: string): JobInfo | undefined {
  const data = row.data;
  if (!isJobData(data)) return undefined;
  const status = jobStatus(row.state, row.due);
  const output = row.output;
  return {
    id: String(row.id),
    name: data.task,
    queue,
    status,
    payload: payloadOf(data),
    attempt: row.started_on ? Number(row.retry_count) + 1 : 0,
    maxAttempts: data.maxAttempts,
    enqueuedAt: data.enqueuedAt,
    ...(status === "succeeded" && output ? { result: resultOf(output) } : {}),
    ...(status !== "succeeded" && output ? { error: errorOf(output) } : {}),
    ...(status === "scheduled" ? { runAt: new Date(row.start_after).getTime() } : {}),
    ...(row.completed_on ? { finishedAt: new Date(row.completed_on).getTime() } : {}),
  };
}

/** taskport's status of a pg-boss job in `state`; `due`: its start time has come. */
export function jobStatus(state: string, due: boolean): JobStatus {
  switch (state) {
    case "created":
    case "retry":
      return due ? "queued" : "scheduled";
    case "active":
      return "running";
    case "completed":
      return "succeeded";
    case "cancelled":
      return "cancelled";
    default:
      return "failed";
  }
}

function errorOf(output: Record<string, unknown>) {
  const message = typeof output.message === "string" ? output.message : JSON.stringify(output);
  return {
    name: typeof output.name === "string" ? output.name : "Error",
    message,
    ...(typeof output.stack === "string" ? { stack: output.stack } : {}),
  };
}

/**
 * Failed jobs back to `created`, as if never started: `retry_count` 0 and `started_on` cleared, so
 * attempts start over (pg-boss's own `retry()` keeps the count and raises the limit instead). A job
 * whose deduplication key another unfinished job holds meanwhile stays failed. Then a NOTIFY on
 * pg-boss's channel wakes the workers.
 */
export async function redrive(
  db: Executor,
  schema: string,
  channel: string,
  queue: string,
  ids: readonly string[] | undefined,
): Promise<number> {
  const { rows } = await db.executeSql(
    `WITH redriven AS (
       UPDATE ${schema}.job j
       SET state = 'created', retry_count = 0, started_on = NULL, completed_on = NULL, heartbeat_on = NULL,
         output = NULL, start_after = ${schema}.job_now()
       WHERE j.name = $1 AND j.state = 'failed' ${ids ? "AND j.id = ANY($2::uuid[])" : ""}
         AND (j.singleton_key IS NULL OR NOT EXISTS (
           SELECT 1 FROM ${schema}.job h WHERE h.name = j.name AND h.singleton_key = j.singleton_key AND h.state <= 'active'))
       RETURNING 1),
     counted AS (SELECT count(*)::int AS n FROM redriven)
     SELECT n, CASE WHEN n > 0 THEN pg_notify('${channel}', $1) END FROM counted`,
    ids ? [queue, ids] : [queue],
  );
  return (rows[0] as { n: number } | undefined)?.n ?? 0;
}

/**
 * Failed jobs deleted from pg-boss's job table (as its own `deleteJob()` does), so they never run and
 * `getJob` reads `null`. Letters past their retention are no longer listed, and are not counted.
 */
export async function discardDeadLetters(db: Executor, schema: string, queue: string, ids: readonly string[] | undefined): Promise<number> {
  const { rows } = await db.executeSql(
    `WITH discarded AS (
       DELETE FROM ${schema}.job
       WHERE name = $1 AND state = 'failed' ${ids ? "AND id = ANY($2::uuid[])" : ""}
         AND (deletion_seconds = 0 OR completed_on + deletion_seconds * interval '1s' > ${schema}.job_now())
       RETURNING 1)
     SELECT count(*)::int AS n FROM discarded`,
    ids ? [queue, ids] : [queue],
  );
  return (rows[0] as { n: number } | undefined)?.n ?? 0;
}
