import { FINAL_SQL, quoted } from "./schema.ts";

/**
 * Every statement of the store, for one schema. Each takes a whole batch as arrays (`unnest`), so
 * one round trip serves a batch; they are prepared once per connection under these names.
 */
export interface Statements {
  readonly record: string;
  readonly confirm: string;
  readonly forget: string;
  readonly begin: string;
  readonly settle: string;
  readonly progress: string;
  readonly get: string;
  readonly cancel: string;
  readonly cancelling: string;
  readonly sweep: string;
  readonly stats: string;
  readonly statsAll: string;
  readonly listJobs: string;
}

/** epoch ms ↔ timestamptz, whole milliseconds both ways. */
const ms = (column: string) => `round(extract(epoch FROM ${column}) * 1000)::float8`;
const timestamp = (msExpression: string) => `to_timestamp(${msExpression} / 1000.0)`;

/**
 * What a job's record reads as (see job-rows.ts). `unless`: a condition under which the JSON columns
 * are not needed (a start only needs them for a job it is not to run), so they do not cross the wire.
 */
const info = (j: string, unless = "false") => {
  const json = (column: string) => `CASE WHEN ${unless} THEN NULL ELSE ${j}.${column} END AS ${column}`;
  return `${j}.id, ${j}.name, ${j}.queue, ${j}.status, ${json("payload")}, ${j}.attempt, ${j}.max_attempts,
   ${json("result")}, ${json("error")}, ${json("progress")},
   ${ms(`${j}.run_at`)} AS run_at, ${ms(`${j}.enqueued_at`)} AS enqueued_at, ${ms(`${j}.finished_at`)} AS finished_at`;
};

/** Every column, for a take-over that rewrites a whole record. */
const COLUMNS = [
  "id",
  "queue",
  "name",
  "status",
  "payload",
  "attempt",
  "max_attempts",
  "dedup_key",
  "cancel_requested",
  "run_at",
  "enqueued_at",
  "pending_until",
  "claimed_by",
  "finished_at",
  "result",
  "error",
  "progress",
];

/**
 * A settle's next status, from the outcome and the record as locked (so a cancel asked for while the
 * attempt ran is seen, however late). Repeated in each SET clause, which cannot read each other.
 */
const NEXT_STATUS = `(CASE WHEN j.cancel_requested OR o.outcome = 'cancelled' THEN 'cancelled'
  WHEN o.outcome = 'returned' THEN 'queued'
  WHEN o.outcome = 'succeeded' THEN 'succeeded'
  WHEN o.retry_at IS NULL THEN 'failed'
  ELSE 'scheduled' END)`;

/** Changes go out at most this many to a NOTIFY, well under PostgreSQL's 8000-byte payload limit. */
const CHANGES_PER_NOTIFY = 100;

/** A record `get` would not read back: its enqueue died before the engine had it. */
const LIVE = "(j.pending_until IS NULL OR j.pending_until >= now())";

/** Counts per queue and status as `get` reads a status; `ready_at`: since when the oldest could start. */
const counts = (jobs: string, where: string) => `SELECT j.queue,
    CASE WHEN j.status = 'scheduled' AND (j.run_at IS NULL OR j.run_at <= now()) THEN 'queued' ELSE j.status END AS status,
    count(*)::int AS count, ${ms("min(greatest(j.enqueued_at, j.run_at))")} AS ready_at
  FROM ${jobs} AS j WHERE ${where} AND ${LIVE} GROUP BY 1, 2`;

export function statements(schema: string): Statements {
  const jobs = `${quoted(schema)}.jobs`;
  const taken = "j.pending_until < now()";
  return {
    // New jobs, sorted by key so that racing batches lock keys in one order (no deadlock). A job
    // whose id is in the table already (every worker enqueues a schedule's tick under one id) is
    // that record, unless it is a pending one whose claim ran out. A key held by a record that has
    // not finished conflicts; the DO UPDATE then either takes over a pending record whose claim ran
    // out (every column rewritten, id included) or leaves the holder as it is and returns it, which
    // names the holder. `claimed_by` ($11, one token per statement) tells this statement's own
    // records from holders, even when a holder has the job's own id.
    record: `WITH i AS (
        SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::int[], $7::text[], $8::float8[], $9::float8[])
          AS i(id, name, queue, payload, status, max_attempts, dedup_key, run_at, enqueued_at)
      ), known AS (
        SELECT j.id FROM ${jobs} AS j JOIN i ON i.id = j.id WHERE j.pending_until IS NULL OR j.pending_until >= now()
      ), written AS (
        INSERT INTO ${jobs} AS j (id, name, queue, payload, status, max_attempts, dedup_key, run_at, enqueued_at, pending_until, claimed_by)
        SELECT i.id, i.name, i.queue, i.payload, i.status, i.max_attempts, i.dedup_key,
          ${timestamp("i.run_at")}, ${timestamp("i.enqueued_at")}, now() + $10::float8 * interval '1 millisecond', $11::uuid
        FROM i WHERE i.id NOT IN (SELECT id FROM known)
        ORDER BY i.queue, i.dedup_key
        ON CONFLICT (queue, dedup_key) WHERE dedup_key IS NOT NULL AND status NOT IN ${FINAL_SQL}
        DO UPDATE SET ${COLUMNS.map((c) => `${c} = CASE WHEN ${taken} THEN excluded.${c} ELSE j.${c} END`).join(", ")}
        RETURNING j.id, j.queue, j.dedup_key, j.claimed_by IS NOT DISTINCT FROM $11::uuid AS claimed
      )
      SELECT id, queue, dedup_key, claimed FROM written
      UNION ALL SELECT id, NULL, NULL, false FROM known`,

    confirm: `UPDATE ${jobs} SET pending_until = NULL WHERE id = ANY($1::uuid[]) AND pending_until IS NOT NULL`,

    forget: `DELETE FROM ${jobs} WHERE id = ANY($1::uuid[])`,

    // A start, in one upsert per batch: an unknown job is recorded as running; a known one that
    // has not finished becomes running and counts the start; a finished one (cancelled before it
    // started, or settled before the engine was) is returned as it is, not to be run; and one whose
    // cancel was asked for while it ran (its worker died) ends cancelled instead of running again,
    // announced as a settle would.
    begin: `WITH started AS (
        INSERT INTO ${jobs} AS j (id, name, queue, payload, status, attempt, max_attempts, enqueued_at)
        SELECT i.id, i.name, i.queue, 'null', 'running', greatest(1, i.attempt), i.max_attempts, now()
        FROM unnest($1::uuid[], $2::text[], $3::text[], $4::int[], $5::int[]) AS i(id, name, queue, attempt, max_attempts)
        ORDER BY i.id
        ON CONFLICT (id) DO UPDATE SET
          status = CASE WHEN j.status IN ${FINAL_SQL} THEN j.status WHEN j.cancel_requested THEN 'cancelled' ELSE 'running' END,
          attempt = CASE WHEN j.status IN ${FINAL_SQL} OR j.cancel_requested THEN j.attempt ELSE greatest(j.attempt + 1, excluded.attempt) END,
          pending_until = CASE WHEN j.status IN ${FINAL_SQL} THEN j.pending_until ELSE NULL END,
          run_at = CASE WHEN j.status IN ${FINAL_SQL} THEN j.run_at ELSE NULL END,
          finished_at = CASE WHEN j.status NOT IN ${FINAL_SQL} AND j.cancel_requested THEN now() ELSE j.finished_at END,
          cancel_requested = false
        RETURNING ${info("j", "j.status = 'running'")}, j.status = 'cancelled' AND j.finished_at = now() AS cancelled_now
      ), told AS (
        SELECT pg_notify($6, json_agg(json_build_array(id, status))::text) FROM started WHERE cancelled_now HAVING count(*) > 0
      )
      SELECT started.* FROM started, (SELECT count(*) FROM told) AS sent`,

    // Outcomes, and one NOTIFY per hundred final statuses, sent when the statement commits.
    settle: `WITH o AS (
        SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::float8[]) AS o(id, outcome, result, error, retry_at)
        ORDER BY o.id
      ), settled AS (
        UPDATE ${jobs} AS j SET
          status = ${NEXT_STATUS},
          attempt = CASE WHEN ${NEXT_STATUS} = 'queued' THEN greatest(0, j.attempt - 1) ELSE j.attempt END,
          result = CASE WHEN ${NEXT_STATUS} = 'succeeded' THEN o.result ELSE j.result END,
          error = CASE WHEN ${NEXT_STATUS} IN ('failed', 'scheduled') THEN o.error ELSE j.error END,
          run_at = CASE WHEN ${NEXT_STATUS} = 'scheduled' THEN ${timestamp("o.retry_at")} ELSE j.run_at END,
          finished_at = CASE WHEN ${NEXT_STATUS} IN ${FINAL_SQL} THEN now() ELSE NULL END,
          cancel_requested = CASE WHEN ${NEXT_STATUS} IN ${FINAL_SQL} THEN false ELSE j.cancel_requested END
        FROM o WHERE j.id = o.id AND j.status NOT IN ${FINAL_SQL}
        RETURNING j.id, j.status
      )
      SELECT pg_notify($6, json_agg(json_build_array(f.id, f.status))::text)
      FROM (SELECT id, status, row_number() OVER () - 1 AS n FROM settled WHERE status IN ${FINAL_SQL}) f
      GROUP BY f.n / ${CHANGES_PER_NOTIFY}`,

    cancelling: `SELECT id FROM ${jobs} WHERE cancel_requested`,

    progress: `UPDATE ${jobs} SET progress = $2 WHERE id = $1::uuid`,

    get: `SELECT ${info("j")}, j.pending_until < now() AS lapsed FROM ${jobs} AS j WHERE j.id = $1::uuid`,

    // A job not started yet is cancelled for good; a running one is flagged, and its worker told.
    cancel: `WITH c AS (
        UPDATE ${jobs} SET
          cancel_requested = (status = 'running'),
          status = CASE WHEN status = 'running' THEN 'running' ELSE 'cancelled' END,
          finished_at = CASE WHEN status = 'running' THEN NULL ELSE now() END
        WHERE id = $1::uuid AND status NOT IN ${FINAL_SQL}
        RETURNING id, status, cancel_requested
      )
      SELECT c.status, pg_notify($2, json_build_array(json_build_array(c.id, c.status, c.cancel_requested))::text) FROM c`,

    // One bounded chunk of each kind of expired record; SKIP LOCKED lets workers sweep side by side.
    sweep: `WITH done AS (
        SELECT id FROM ${jobs} WHERE finished_at < now() - $1::float8 * interval '1 millisecond' AND status = 'succeeded'
        LIMIT $3 FOR UPDATE SKIP LOCKED
      ), failed AS (
        SELECT id FROM ${jobs} WHERE finished_at < now() - $2::float8 * interval '1 millisecond' AND status <> 'succeeded'
        LIMIT $3 FOR UPDATE SKIP LOCKED
      ), lapsed AS (
        SELECT id FROM ${jobs} WHERE pending_until < now() LIMIT $3 FOR UPDATE SKIP LOCKED
      ), deleted AS (
        DELETE FROM ${jobs} WHERE id IN (SELECT id FROM done UNION ALL SELECT id FROM failed UNION ALL SELECT id FROM lapsed)
        RETURNING 1
      )
      SELECT count(*)::int AS deleted FROM deleted`,

    stats: counts(jobs, "j.queue = ANY($1::text[])"),
    statsAll: counts(jobs, "true"),

    // A page, newest record first: the first $5 of each stored status ($2) by the index, merged. A
    // scheduled record reads as queued once due, so it is kept or left out by $3, the status asked for.
    listJobs: `SELECT ${info("j")}, j.seq::text AS seq
      FROM unnest($2::text[]) AS s(status) CROSS JOIN LATERAL (
        SELECT * FROM ${jobs} AS j
        WHERE j.queue = $1 AND j.status = s.status AND j.seq < $4::bigint AND ${LIVE}
          AND (j.status <> 'scheduled' OR $3::text IS NULL OR ($3::text = 'queued') = (j.run_at IS NULL OR j.run_at <= now()))
        ORDER BY j.seq DESC LIMIT $5
      ) AS j
      ORDER BY j.seq DESC LIMIT $5`,
  };
}
