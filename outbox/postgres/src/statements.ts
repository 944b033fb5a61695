import type { JsonValue, NewJob } from "@taskport/core";

/** The NOTIFY channel of a schema's outbox; the payload is the target whose rows were committed. */
export function channelOf(schema: string): string {
  return `${schema}.outbox`;
}

const COLUMNS = "id, name, queue, payload, priority, run_at, max_attempts, deduplication_key, timeout_ms, headers, enqueued_at";

/** The outbox's statements for one schema (`s` quoted). */
export interface Statements {
  /** $1 the jobs as JSON (see `encodeJobs`), $2 the target, $3 the channel: insert, and notify at commit. */
  readonly insert: string;
  /**
   * The oldest rows of a target no other claim holds, locked until the claim ends, in a transaction
   * begun by the same round trip (a simple-protocol query: its values are literals, see `claimFor`).
   */
  claim(targetLiteral: string, limit: number): string;
  /** $1 ids. */
  readonly remove: string;
  /** $1 id, $2 target. */
  readonly get: string;
}

export function statementsFor(s: string): Statements {
  return {
    // One statement whatever the batch size, with one parameter per batch rather than per job: it
    // goes unchanged through every driver and ORM toSqlExecutor accepts. The batch is read as jsonb,
    // parsed once (json would be parsed again by each ->>); a payload is a string inside it, so its
    // text is kept byte for byte. NOTIFY is transactional: relays hear of the rows when the caller
    // commits, and never when it rolls back.
    insert: `WITH inserted AS (
        INSERT INTO ${s}.outbox (target, id, name, queue, payload, priority, run_at, max_attempts, deduplication_key, timeout_ms, headers, enqueued_at)
        SELECT $2, j.v->>0, j.v->>1, j.v->>2, j.v->>3, (j.v->>4)::integer, (j.v->>5)::bigint, (j.v->>6)::integer,
          j.v->>7, (j.v->>8)::double precision, j.v->>9, (j.v->>10)::bigint
        FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS j(v, n)
        ORDER BY j.n
        RETURNING 1
      )
      SELECT (SELECT count(*) FROM inserted)::int AS inserted, pg_notify($3, $2) AS notified`,
    // The claim's commit (its delete) need not wait for the disk: lost in a crash of the server, the
    // rows come back and are handed over again, which the relay allows for anyway (at least once).
    claim: (targetLiteral, limit) =>
      `BEGIN; SET LOCAL synchronous_commit = off; SELECT ${COLUMNS} FROM ${s}.outbox WHERE target = ${targetLiteral} ORDER BY seq LIMIT ${Math.trunc(limit)} FOR UPDATE SKIP LOCKED`,
    remove: `DELETE FROM ${s}.outbox WHERE id = ANY($1::text[])`,
    get: `SELECT ${COLUMNS} FROM ${s}.outbox WHERE id = $1 AND target = $2 LIMIT 1`,
  };
}

/** Jobs as one JSON array of arrays, in the column order of `insert`. */
export function encodeJobs(jobs: readonly NewJob[]): string {
  return JSON.stringify(
    jobs.map((job) => [
      job.id,
      job.name,
      job.queue,
      job.payloadJson,
      job.priority,
      job.runAt ?? null,
      job.maxAttempts,
      job.deduplicationKey ?? null,
      job.timeoutMs ?? null,
      job.headers === undefined ? null : JSON.stringify(job.headers),
      job.enqueuedAt,
    ]),
  );
}

/** A row as `pg` returns it (bigint columns come as strings). */
export interface OutboxRow {
  readonly id: string;
  readonly name: string;
  readonly queue: string;
  readonly payload: string;
  readonly priority: number;
  readonly run_at: string | null;
  readonly max_attempts: number;
  readonly deduplication_key: string | null;
  readonly timeout_ms: number | null;
  /** JSON text of the headers object. */
  readonly headers: string | null;
  readonly enqueued_at: string;
}

/** The job a row holds, exactly as it was inserted. */
export function jobOf(row: OutboxRow): NewJob {
  const job: { -readonly [K in keyof NewJob]: NewJob[K] } = {
    id: row.id,
    name: row.name,
    queue: row.queue,
    payload: JSON.parse(row.payload) as JsonValue,
    payloadJson: row.payload,
    priority: row.priority,
    maxAttempts: row.max_attempts,
    enqueuedAt: Number(row.enqueued_at),
  };
  if (row.run_at !== null) job.runAt = Number(row.run_at);
  if (row.deduplication_key !== null) job.deduplicationKey = row.deduplication_key;
  if (row.timeout_ms !== null) job.timeoutMs = row.timeout_ms;
  if (row.headers !== null) job.headers = JSON.parse(row.headers) as Record<string, string>;
  return job;
}
