/**
 * Every key the store writes, under its prefix. The Lua scripts build a job's keys from the same
 * pieces (`prefix .. ":job:" .. id`), so the two must change together; queue names cannot contain
 * ":" (core refuses them), so `<prefix>:dedup:<queue>:<key>` is unambiguous whatever the key holds.
 */
export class StoreKeys {
  readonly prefix: string;
  /** Sorted set: ids of records not yet confirmed, by the time their claim runs out. */
  readonly pending: string;
  /** Sorted sets: ids of finished jobs by when they finished, one per retention. */
  readonly succeeded: string;
  readonly failed: string;
  /** Set: ids of running jobs whose cancel was asked for and not yet honoured. */
  readonly cancelling: string;
  /** Pub/sub channel of changes: a JSON array of `JobChange`s per message. */
  readonly changes: string;
  /** Counter: records are numbered in recording order (their `seq`), the order of a listing. */
  readonly seq: string;
  /** Set: names of the queues that have records, for `stats()` of every queue. */
  readonly queues: string;

  constructor(prefix: string) {
    this.prefix = prefix;
    this.pending = `${prefix}:pending`;
    this.succeeded = `${prefix}:finished:succeeded`;
    this.failed = `${prefix}:finished:failed`;
    this.cancelling = `${prefix}:cancelling`;
    this.changes = `${prefix}:changes`;
    this.seq = `${prefix}:seq`;
    this.queues = `${prefix}:queues`;
  }

  /**
   * A queue's inspection index (built the same way in the scripts): `all`, a status, `due`
   * (scheduled records by `runAt`) or `expiry` (finished records by when their TTL runs out).
   */
  queue(queue: string, part: string): string {
    return `${this.prefix}:queue:${queue}:${part}`;
  }

  job(id: string): string {
    return `${this.prefix}:job:${id}`;
  }

  /** What the scripts take as KEYS, in this order. */
  get indexes(): string[] {
    return [this.pending, this.succeeded, this.failed, this.cancelling];
  }
}
