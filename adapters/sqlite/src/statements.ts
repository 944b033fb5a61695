import type { DatabaseSync, StatementSync } from "node:sqlite";

/** Columns a worker needs to run a job, as a claim returns them. */
export interface ClaimedRow {
  readonly seq: number;
  readonly id: string;
  readonly queue: string;
  readonly name: string;
  readonly payload: string;
  readonly priority: number;
  readonly run_at: number;
  readonly attempt: number;
  readonly max_attempts: number;
  readonly timeout_ms: number | null;
  /** JSON object of strings, or null when the job has none. */
  readonly headers: string | null;
}

/** A whole job row, as `getJob`, the dead letters and the job listing read it. */
export interface JobRow extends ClaimedRow {
  readonly state: string;
  readonly enqueued_at: number;
  readonly result: string | null;
  readonly error: string | null;
  readonly progress: string | null;
  readonly finished_at: number | null;
  readonly expires_at: number | null;
}

const CLAIMED_COLUMNS = "seq, id, queue, name, payload, priority, run_at, attempt, max_attempts, timeout_ms, headers";
const JOB_COLUMNS = `${CLAIMED_COLUMNS}, state, enqueued_at, result, error, progress, finished_at, expires_at`;
const UNFINISHED = "('scheduled', 'queued', 'running')";
/** The target of a deduplication conflict: the partial unique index, so that any other conflict is an error. */
const DEDUP_CONFLICT = `(queue, dedup_key) WHERE dedup_key IS NOT NULL AND state IN ${UNFINISHED}`;
// Parameters are plain positional `?`, a value passed twice where it is used twice: Node before 22.16
// cannot bind numbered ones (`?1`) to positional arguments ("column index out of range").
/** Jobs past their retention read as gone until a worker deletes them. */
const KEPT = "(expires_at IS NULL OR expires_at > ?)";
/** Fields cleared whenever a job leaves `running`. */
const RELEASE = "lease_owner = NULL, lease_until = NULL";

/**
 * Every statement the adapter runs, prepared once per database handle. States are SQL literals, not
 * parameters: SQLite uses a partial index only when the query's WHERE names its state.
 */
export class Statements {
  /** Queues known to be in `taskport_queues` (registered through this handle and committed). */
  readonly registered = new Set<string>();
  readonly lastSeq: StatementSync;
  readonly insertOne: StatementSync;
  readonly insertMany: StatementSync;
  readonly dedupHolder: StatementSync;
  readonly registerQueue: StatementSync;

  readonly pausedQueues: StatementSync;
  readonly anyReady: StatementSync;
  readonly anyDue: StatementSync;
  readonly anyExpired: StatementSync;
  readonly nextDue: StatementSync;
  readonly promoteDue: StatementSync;
  readonly recoverExpired: StatementSync;
  readonly setError: StatementSync;
  readonly claimFromQueue: StatementSync;
  readonly candidates: StatementSync;
  readonly claimOne: StatementSync;

  readonly succeed: StatementSync;
  readonly retry: StatementSync;
  readonly fail: StatementSync;
  readonly giveBack: StatementSync;
  readonly extendLeases: StatementSync;
  readonly cancelRequests: StatementSync;
  readonly progress: StatementSync;

  readonly byId: StatementSync;
  readonly cancelWaiting: StatementSync;
  readonly requestCancel: StatementSync;
  readonly deadLetters: StatementSync;
  readonly redriveAll: StatementSync;
  readonly redriveOne: StatementSync;
  readonly discardAll: StatementSync;
  readonly discardOne: StatementSync;
  readonly setPaused: StatementSync;
  readonly knownQueues: StatementSync;
  readonly finishedSince: StatementSync;
  readonly anyExpiredRow: StatementSync;
  readonly sweepExpired: StatementSync;

  readonly countReady: StatementSync;
  readonly countScheduled: StatementSync;
  readonly countRunning: StatementSync;
  readonly countFinished: StatementSync;
  readonly pageAll: StatementSync;
  readonly pageByState: StatementSync;
  readonly pageQueued: StatementSync;
  readonly pageScheduled: StatementSync;

  constructor(db: DatabaseSync) {
    const p = (sql: string) => db.prepare(sql);
    this.lastSeq = p("SELECT coalesce(max(seq), 0) AS seq FROM taskport_jobs");
    // (seq, id, queue, name, payload, priority, state, run_at, max_attempts, timeout_ms, headers, dedup_key, enqueued_at,
    //  keep_succeeded_ms, keep_failed_ms)
    this.insertOne = p(
      `INSERT INTO taskport_jobs (seq, id, queue, name, payload, priority, state, run_at, max_attempts, timeout_ms, headers, dedup_key,
         enqueued_at, keep_succeeded_ms, keep_failed_ms)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT ${DEDUP_CONFLICT} DO NOTHING`,
    );
    // Jobs that differ only in payload, in one statement: the payloads come as one JSON array of
    // strings, and row k gets seq first + k. SQLite's JSON parser does per row what a statement per
    // job would do in JavaScript, binding 15 values. (first, id prefix, first, queue, name, priority,
    // state, run_at, max_attempts, timeout_ms, headers, enqueued_at, keep_succeeded_ms, keep_failed_ms, payloads)
    this.insertMany = p(
      `INSERT INTO taskport_jobs (seq, id, queue, name, payload, priority, state, run_at, max_attempts, timeout_ms, headers,
         enqueued_at, keep_succeeded_ms, keep_failed_ms)
       SELECT ? + key, ? || printf('%012x', ? + key), ?, ?, value, ?, ?, ?, ?, ?, ?, ?, ?, ? FROM json_each(?)`,
    );
    this.dedupHolder = p(`SELECT id FROM taskport_jobs WHERE queue = ? AND dedup_key = ? AND state IN ${UNFINISHED}`);
    this.registerQueue = p("INSERT INTO taskport_queues (queue) VALUES (?) ON CONFLICT (queue) DO NOTHING");

    // ── claiming ─────────────────────────────────────────────────────────────
    this.pausedQueues = p("SELECT queue FROM taskport_queues WHERE paused = 1");
    this.anyReady = p("SELECT 1 AS found FROM taskport_jobs WHERE state = 'queued' AND queue = ? LIMIT 1");
    this.anyDue = p("SELECT 1 AS found FROM taskport_jobs WHERE state = 'scheduled' AND queue = ? AND run_at <= ? LIMIT 1");
    this.anyExpired = p("SELECT 1 AS found FROM taskport_jobs WHERE state = 'running' AND lease_until < ? LIMIT 1");
    this.nextDue = p("SELECT min(run_at) AS at FROM taskport_jobs WHERE state = 'scheduled' AND queue = ?");
    this.promoteDue = p("UPDATE taskport_jobs SET state = 'queued' WHERE state = 'scheduled' AND queue = ? AND run_at <= ?");
    // A job whose lease ran out lost its worker (killed, or stalled past the lease). The start
    // counted as an attempt; the job runs again — one start past its last attempt at most, since a
    // crashed job must be delivered again — and after that fails for good (its error is set by
    // setError, one per job: a rare path). (now, now, now)
    this.recoverExpired = p(
      `UPDATE taskport_jobs SET
         state = CASE WHEN cancel_requested THEN 'cancelled' WHEN attempt > max_attempts THEN 'failed' ELSE 'queued' END,
         finished_at = CASE WHEN cancel_requested OR attempt > max_attempts THEN ? END,
         expires_at = CASE WHEN cancel_requested OR attempt > max_attempts THEN ? + keep_failed_ms END,
         ${RELEASE}
       WHERE state = 'running' AND lease_until < ?
       RETURNING seq, id, state, max_attempts`,
    );
    this.setError = p("UPDATE taskport_jobs SET error = ? WHERE seq = ?");
    this.claimFromQueue = p(
      `UPDATE taskport_jobs SET state = 'running', attempt = attempt + 1, lease_owner = ?, lease_until = ?
       WHERE seq IN (SELECT seq FROM taskport_jobs WHERE state = 'queued' AND queue = ? ORDER BY priority DESC, run_at, seq LIMIT ?)
       RETURNING ${CLAIMED_COLUMNS}`,
    );
    this.candidates = p(
      "SELECT seq, priority, run_at FROM taskport_jobs WHERE state = 'queued' AND queue = ? ORDER BY priority DESC, run_at, seq LIMIT ?",
    );
    this.claimOne = p(
      `UPDATE taskport_jobs SET state = 'running', attempt = attempt + 1, lease_owner = ?, lease_until = ?
       WHERE seq = ? AND state = 'queued' RETURNING ${CLAIMED_COLUMNS}`,
    );

    // ── settling: only the worker holding the lease of this attempt may ─────────
    // A cancel asked for while the job ran wins over the attempt's own outcome.
    const held = "seq = ? AND state = 'running' AND lease_owner = ? AND attempt = ?";
    this.succeed = p(
      `UPDATE taskport_jobs SET
         state = CASE WHEN cancel_requested THEN 'cancelled' ELSE 'succeeded' END,
         result = CASE WHEN cancel_requested THEN NULL ELSE ? END,
         finished_at = ?,
         expires_at = ? + CASE WHEN cancel_requested THEN keep_failed_ms ELSE keep_succeeded_ms END, ${RELEASE}
       WHERE ${held} RETURNING state`,
    );
    // (1 when the retry is due later else 0, retryAt, error, now, now, seq, owner, attempt)
    this.retry = p(
      `UPDATE taskport_jobs SET
         state = CASE WHEN cancel_requested THEN 'cancelled' WHEN ? THEN 'scheduled' ELSE 'queued' END,
         run_at = ?,
         error = CASE WHEN cancel_requested THEN error ELSE ? END,
         finished_at = CASE WHEN cancel_requested THEN ? END,
         expires_at = CASE WHEN cancel_requested THEN ? + keep_failed_ms END, ${RELEASE}
       WHERE ${held} RETURNING state`,
    );
    this.fail = p(
      `UPDATE taskport_jobs SET
         state = CASE WHEN cancel_requested THEN 'cancelled' ELSE 'failed' END,
         error = CASE WHEN cancel_requested THEN error ELSE ? END,
         finished_at = ?, expires_at = ? + keep_failed_ms, ${RELEASE}
       WHERE ${held} RETURNING state`,
    );
    // Given back unrun by a worker shut down past its grace period: not an attempt (a deploy must
    // not use up a job's attempts; a crash, which writes nothing, does).
    this.giveBack = p(
      `UPDATE taskport_jobs SET
         state = CASE WHEN cancel_requested THEN 'cancelled' ELSE 'queued' END,
         attempt = attempt - 1,
         finished_at = CASE WHEN cancel_requested THEN ? END,
         expires_at = CASE WHEN cancel_requested THEN ? + keep_failed_ms END, ${RELEASE}
       WHERE ${held} RETURNING state`,
    );
    this.extendLeases = p("UPDATE taskport_jobs SET lease_until = ? WHERE state = 'running' AND lease_owner = ? RETURNING seq");
    this.cancelRequests = p("SELECT seq FROM taskport_jobs WHERE state = 'running' AND lease_owner = ? AND cancel_requested = 1");
    this.progress = p(`UPDATE taskport_jobs SET progress = ? WHERE ${held}`);

    // ── reading and operating ────────────────────────────────────────────────
    // A job is found by the row number in its id, and the whole id must match.
    this.byId = p(`SELECT ${JOB_COLUMNS} FROM taskport_jobs WHERE seq = ? AND id = ?`);
    this.cancelWaiting = p(
      "UPDATE taskport_jobs SET state = 'cancelled', finished_at = ?, expires_at = ? + keep_failed_ms WHERE seq = ? AND id = ? AND queue = ? AND state IN ('scheduled', 'queued')",
    );
    this.requestCancel = p("UPDATE taskport_jobs SET cancel_requested = 1 WHERE seq = ? AND id = ? AND queue = ? AND state = 'running'");
    this.deadLetters = p(
      `SELECT ${JOB_COLUMNS} FROM taskport_jobs WHERE queue = ? AND state = 'failed' AND finished_at IS NOT NULL AND ${KEPT}
       ORDER BY finished_at DESC, seq DESC LIMIT ?`,
    );
    // A dead letter whose deduplication key another job holds now stays where it is (OR IGNORE).
    const redrive = `UPDATE OR IGNORE taskport_jobs SET state = 'queued', attempt = 0, run_at = ?, error = NULL, result = NULL,
         progress = NULL, finished_at = NULL, expires_at = NULL, cancel_requested = 0 WHERE queue = ? AND state = 'failed'`;
    this.redriveAll = p(redrive);
    this.redriveOne = p(`${redrive} AND seq = ? AND id = ?`);
    // (queue, now[, seq, id]) Letters past their retention are no longer listed, so they are not counted.
    const discard = `DELETE FROM taskport_jobs WHERE queue = ? AND state = 'failed' AND finished_at IS NOT NULL AND ${KEPT}`;
    this.discardAll = p(discard);
    this.discardOne = p(`${discard} AND seq = ? AND id = ?`);
    this.setPaused = p(
      "INSERT INTO taskport_queues (queue, paused) VALUES (?, ?) ON CONFLICT (queue) DO UPDATE SET paused = excluded.paused",
    );
    this.knownQueues = p("SELECT queue, paused FROM taskport_queues ORDER BY queue");
    this.finishedSince = p(
      "SELECT id, state FROM taskport_jobs WHERE queue = ? AND state = ? AND finished_at >= ? AND finished_at IS NOT NULL",
    );
    this.anyExpiredRow = p("SELECT 1 AS found FROM taskport_jobs WHERE expires_at IS NOT NULL AND expires_at <= ? LIMIT 1");
    this.sweepExpired = p(
      "DELETE FROM taskport_jobs WHERE seq IN (SELECT seq FROM taskport_jobs WHERE expires_at IS NOT NULL AND expires_at <= ? LIMIT ?)",
    );

    this.countReady = p("SELECT count(*) AS n, min(run_at) AS oldest FROM taskport_jobs WHERE state = 'queued' AND queue = ?");
    this.countScheduled = p(
      "SELECT count(*) AS n, sum(run_at <= ?) AS due, min(run_at) AS oldest FROM taskport_jobs WHERE state = 'scheduled' AND queue = ?",
    );
    this.countRunning = p("SELECT count(*) AS n FROM taskport_jobs WHERE state = 'running' AND queue = ?");
    this.countFinished = p("SELECT state, count(*) AS n FROM taskport_jobs WHERE queue = ? AND finished_at IS NOT NULL GROUP BY state");
    // (queue, before, [state or now], now, limit)
    const page = `SELECT ${JOB_COLUMNS} FROM taskport_jobs WHERE queue = ? AND seq < ?`;
    this.pageAll = p(`${page} AND ${KEPT} ORDER BY seq DESC LIMIT ?`);
    this.pageByState = p(`${page} AND state = ? AND ${KEPT} ORDER BY seq DESC LIMIT ?`);
    this.pageQueued = p(`${page} AND (state = 'queued' OR (state = 'scheduled' AND run_at <= ?)) AND ${KEPT} ORDER BY seq DESC LIMIT ?`);
    this.pageScheduled = p(`${page} AND state = 'scheduled' AND run_at > ? AND ${KEPT} ORDER BY seq DESC LIMIT ?`);
  }
}
