import { randomUUID } from "node:crypto";
import {
  type CancelOutcome,
  type CheckProblem,
  ConfigurationError,
  ConnectionError,
  closeWithin,
  connectWithin,
  DEFAULT_TIMEOUTS,
  DeadlineError,
  deadline,
  type JobChange,
  type JobInfo,
  type JobListOptions,
  type JobOutcome,
  type JobPage,
  type JobStart,
  type JobStore,
  type NewJob,
  type QueueStats,
  type RecordReceipt,
  type Retention,
  resolveTimeouts,
  type StartDecision,
  TaskportError,
  type Timeouts,
  ValidationError,
} from "@taskport/core";
import { Redis, type RedisOptions } from "ioredis";
import { ChangeFeed } from "./change-feed.ts";
import { fieldsOf, isDeadClaim, toJobInfo } from "./job-hash.ts";
import { StoreKeys } from "./keys.ts";
import { LuaScript } from "./lua-script.ts";
import { explainRedisError } from "./redis-errors.ts";
import { BEGIN, CANCEL, CONFIRM, FORGET, LIST, PROGRESS, RECORD, SETTLE, STATS, SWEEP } from "./scripts.ts";
import { STORE_NAME } from "./store-name.ts";
import { parseUrlOptions, positiveMs, validatePrefix } from "./url-options.ts";

export interface RedisStoreOptions {
  /**
   * `redis://[[user]:password@]host[:port][/db][?prefix=…]`, or `rediss://…` for TLS: the store URL
   * (see the README); ioredis reads the connection part. Options given here win over the URL's.
   * Default `redis://127.0.0.1:6379/0`.
   */
  readonly url?: string;
  /**
   * The application's own ioredis client, used for the store's commands and never closed by it;
   * `watch` opens one more connection from it (`duplicate()`), as pub/sub needs a connection of
   * its own.
   */
  readonly connection?: Redis;
  /** Key prefix: every key the store writes starts with `<prefix>:`. Default `taskport`. */
  readonly prefix?: string;
  /**
   * Bounds on calls to Redis, `{ connectMs, operationMs, closeMs }`, default 10 s, 30 s, 10 s:
   * connecting past connectMs is a `ConnectionError`; a store call without an answer within
   * operationMs a `DeadlineError` naming the call (ioredis `commandTimeout`, and the store's own
   * bound on the application's client); `close()` drops its connections after closeMs.
   */
  readonly timeouts?: Partial<Timeouts>;
  /** The older name of `timeouts.operationMs`, which wins when both are given. */
  readonly commandTimeoutMs?: number;
  /** The older name of `timeouts.connectMs`, which wins when both are given. */
  readonly connectTimeoutMs?: number;
}

const DEFAULT_URL = "redis://127.0.0.1:6379/0";
/** Ids a sweep call looks at per index: Redis does nothing else while a script runs. */
const SWEEP_LIMIT = 500;
/** Lets the client ride out a short server restart; each command's own deadline bounds the wait. */
const MAX_RETRIES_PER_REQUEST = 10;

/**
 * The job store on Redis (ioredis 6): one hash per job, a key per held deduplication key, indexes
 * for claims and finished jobs, and pub/sub for changes. Every batch is one Lua script call. Nothing
 * connects until the first call that needs Redis.
 */
export class RedisStore implements JobStore {
  readonly name = STORE_NAME;
  readonly keys: StoreKeys;
  readonly #url: string;
  readonly #shared: Redis | undefined;
  readonly #commandTimeoutMs: number;
  readonly #connectTimeoutMs: number;
  readonly #timeouts: Timeouts;
  readonly #where: string;
  readonly #secrets: string[];
  readonly #feed: ChangeFeed;
  #ready: Promise<Redis> | undefined;
  #closed = false;

  constructor(options: RedisStoreOptions = {}) {
    if (options.url !== undefined && options.connection !== undefined) {
      throw new ConfigurationError(STORE_NAME, "give either url or connection, not both.");
    }
    const fromUrl = parseUrlOptions(new URL(options.url ?? DEFAULT_URL));
    this.#url = fromUrl.redisUrl;
    this.#shared = options.connection;
    this.keys = new StoreKeys(validatePrefix(options.prefix ?? fromUrl.prefix ?? "taskport"));
    const given = options.timeouts ?? {};
    const url = fromUrl.timeouts ?? {};
    this.#timeouts = resolveTimeouts(
      {
        ...(url.closeMs !== undefined ? { closeMs: url.closeMs } : {}),
        ...(given.closeMs !== undefined ? { closeMs: given.closeMs } : {}),
      },
      STORE_NAME,
    );
    this.#commandTimeoutMs = positiveMs(
      "operationMs",
      given.operationMs ?? options.commandTimeoutMs ?? url.operationMs ?? fromUrl.commandTimeoutMs ?? DEFAULT_TIMEOUTS.operationMs,
    );
    this.#connectTimeoutMs = positiveMs(
      "connectMs",
      given.connectMs ?? options.connectTimeoutMs ?? url.connectMs ?? DEFAULT_TIMEOUTS.connectMs,
    );
    const target = this.#shared ? this.#shared.options : describeUrl(this.#url);
    this.#where = target.path ?? `${target.host ?? "127.0.0.1"}:${target.port ?? 6379}/${target.db ?? 0}`;
    this.#secrets = [target.password, target.password ? encodeURIComponent(target.password) : undefined].filter(
      (secret): secret is string => typeof secret === "string" && secret !== "",
    );
    this.#feed = new ChangeFeed({
      channel: this.keys.changes,
      open: () => this.#openSubscriber(),
      cancelling: () => this.#command("read the cancelled jobs", (client) => client.smembers(this.keys.cancelling)),
      onError: () => {},
    });
  }

  // ── connections ────────────────────────────────────────────────────────────

  /** Options of every connection the store opens itself: each command, and connecting, has a deadline. */
  #clientOptions(role: string): RedisOptions {
    return {
      lazyConnect: true,
      connectTimeout: this.#connectTimeoutMs,
      commandTimeout: this.#commandTimeoutMs,
      // A connection that stops answering (a half-open socket) is dropped and made again.
      socketTimeout: this.#commandTimeoutMs,
      maxRetriesPerRequest: MAX_RETRIES_PER_REQUEST,
      retryStrategy: (times) => Math.min(times * 100, 1_000),
      connectionName: `${this.keys.prefix}:${role}`,
    };
  }

  #connect(): Promise<Redis> {
    if (this.#closed) return Promise.reject(new TaskportError(STORE_NAME, "this store was closed; create a new one."));
    if (!this.#ready) {
      const ready = this.#shared ? Promise.resolve(this.#shared) : this.#open(new Redis(this.#url, this.#clientOptions("store")));
      this.#ready = ready;
      // A failed first connection is tried again by the next call, not remembered.
      ready.catch(() => {
        if (this.#ready === ready) this.#ready = undefined;
      });
    }
    return this.#ready;
  }

  /**
   * Connect a client of the store's own and resolve once it is ready. While connecting, the error
   * event carries the reason (WRONGPASS, ECONNREFUSED) that connect() reduces to "Connection is closed".
   */
  async #open(client: Redis): Promise<Redis> {
    let reason: unknown;
    client.on("error", (error: unknown) => {
      // Once connected, ioredis reconnects by itself and each command fails on its own deadline.
      reason ??= error;
    });
    try {
      // ioredis's connectTimeout ends a TCP connect that hangs; a server that accepts and never
      // answers the ready check is ended here.
      await connectWithin(STORE_NAME, "connect", this.#where, this.#connectTimeoutMs, client.connect(), () => client.disconnect());
      return client;
    } catch (error) {
      client.disconnect();
      throw explainRedisError(error instanceof TaskportError ? error : (reason ?? error), this.#where, this.#secrets);
    }
  }

  #openSubscriber(): Promise<Redis> {
    if (this.#closed) return Promise.reject(new TaskportError(STORE_NAME, "this store was closed; create a new one."));
    const options = { ...this.#clientOptions("watch"), maxRetriesPerRequest: null };
    const subscriber = this.#shared ? this.#shared.duplicate(options) : new Redis(this.#url, options);
    return this.#open(subscriber);
  }

  /**
   * Run one command or script call with the store's deadline (also on the application's own client,
   * whose options are not the store's), as a taskport error without secrets when it fails.
   */
  async #command<T>(operation: string, work: (client: Redis) => Promise<T>): Promise<T> {
    const client = await this.#connect();
    const ms = this.#commandTimeoutMs;
    try {
      return await deadline(STORE_NAME, `job store ${operation}`, this.#where, ms, () => work(client));
    } catch (error) {
      // ioredis's own commandTimeout, on the store's own connections, says the same.
      const late = error instanceof DeadlineError || (error instanceof Error && /Command timed out/i.test(error.message));
      if (!late) throw explainRedisError(error, this.#where, this.#secrets);
      // Late with no open connection (the server went away and ioredis is reconnecting): the call
      // waited in ioredis's offline queue and never reached Redis, so it is a ConnectionError.
      // Only a call over an open connection has an unknown effect, which DeadlineError means.
      if (client.status !== "ready") {
        throw new ConnectionError(
          STORE_NAME,
          `cannot reach Redis at ${this.#where}: no connection within ${ms} ms for the job store ${operation}. Is Redis running there and reachable from here?`,
        );
      }
      throw error instanceof DeadlineError
        ? error
        : new DeadlineError(STORE_NAME, `job store ${operation}`, this.#where, ms, { cause: error });
    }
  }

  #script<T>(name: keyof typeof SCRIPTS, args: readonly (string | number)[]): Promise<T> {
    const script = SCRIPTS[name];
    return this.#command(name, (client) => script.run<T>(client, this.keys.indexes, [this.keys.prefix, Date.now(), ...args]));
  }

  // ── the contract ───────────────────────────────────────────────────────────

  async record(jobs: readonly NewJob[], claimMs: number): Promise<RecordReceipt[]> {
    if (jobs.length === 0) return [];
    const args: (string | number)[] = [claimMs, randomUUID()];
    for (const job of jobs) {
      args.push(job.id, job.name, job.queue, job.payloadJson, job.maxAttempts, job.enqueuedAt, job.runAt ?? "", job.deduplicationKey ?? "");
    }
    const holders = await this.#script<string[]>("record", args);
    return jobs.map((job, i) => {
      const holder = holders[i];
      return holder ? { id: holder, deduplicated: true } : { id: job.id };
    });
  }

  async confirm(ids: readonly string[]): Promise<void> {
    if (ids.length > 0) await this.#script("confirm", ids);
  }

  async forget(ids: readonly string[]): Promise<void> {
    if (ids.length > 0) await this.#script("forget", ids);
  }

  async begin(starts: readonly JobStart[]): Promise<StartDecision[]> {
    if (starts.length === 0) return [];
    const args: (string | number)[] = [this.keys.changes];
    for (const start of starts) args.push(start.id, start.name, start.queue, start.attempt, start.maxAttempts);
    const replies = await this.#script<[number, number | string[]][]>("begin", args);
    const now = Date.now();
    return starts.map((start, i) => {
      const [run, detail] = replies[i] as [number, number | string[]];
      if (run === 1) return { run: true, attempt: detail as number };
      return { run: false, info: toJobInfo(start.id, fieldsOf(detail as string[]), now) as JobInfo };
    });
  }

  async settle(outcomes: readonly JobOutcome[], retention?: Retention): Promise<void> {
    if (outcomes.length === 0) return;
    const args: (string | number)[] = [this.keys.changes, retention?.succeededMs ?? "", retention?.failedMs ?? ""];
    for (const outcome of outcomes) {
      if (outcome.status === "succeeded") args.push(outcome.id, "succeeded", outcome.resultJson, "");
      else if (outcome.status === "failed") args.push(outcome.id, "failed", JSON.stringify(outcome.error), outcome.retryAt ?? "");
      else args.push(outcome.id, outcome.status, "", "");
    }
    await this.#script("settle", args);
  }

  async progress(id: string, valueJson: string): Promise<void> {
    await this.#script("progress", [id, valueJson]);
  }

  async get(id: string): Promise<JobInfo | null> {
    const [fields, claimUntil] = await this.#command("get", async (client) => {
      const replies = await client.pipeline().hgetall(this.keys.job(id)).zscore(this.keys.pending, id).exec();
      for (const [error] of replies ?? []) if (error) throw error;
      return [replies?.[0]?.[1] as Record<string, string>, replies?.[1]?.[1] as string | null] as const;
    });
    const now = Date.now();
    return isDeadClaim(claimUntil, now) ? null : toJobInfo(id, fields, now);
  }

  async cancel(id: string, retention?: Retention): Promise<CancelOutcome> {
    const args = [this.keys.changes, retention?.succeededMs ?? "", retention?.failedMs ?? "", id];
    const outcome = await this.#script<string>("cancel", args);
    return outcome === "cancelled" || outcome === "requested" ? outcome : false;
  }

  watch(listener: (change: JobChange) => void): Promise<() => Promise<void>> {
    return this.#feed.add(listener);
  }

  async sweep(retention: Retention): Promise<number> {
    let deleted = 0;
    for (;;) {
      const [gone, seen] = await this.#script<[number, number]>("sweep", [retention.succeededMs, retention.failedMs, SWEEP_LIMIT]);
      deleted += gone;
      if (seen < SWEEP_LIMIT) return deleted;
    }
  }

  async stats(queues?: readonly string[]): Promise<QueueStats[]> {
    const rows = await this.#script<[string, number, number, number, number, number, number, number, string][]>("stats", [
      SWEEP_LIMIT,
      ...(queues ?? []),
    ]);
    const now = Date.now();
    return rows.map(([queue, scheduled, due, queued, running, succeeded, failed, cancelled, readyAt]) => {
      const counts = { scheduled: scheduled - due, queued: queued + due, running, succeeded, failed, cancelled };
      return readyAt === "" ? { queue, counts } : { queue, counts, oldestQueuedAgeMs: Math.max(0, now - Number(readyAt)) };
    });
  }

  async listJobs(queue: string, options: JobListOptions): Promise<JobPage> {
    if (options.cursor !== undefined && !/^\d{1,16}$/.test(options.cursor)) {
      throw new ValidationError(STORE_NAME, `cursor "${options.cursor}" was not returned by listJobs; pass the previous page's cursor.`);
    }
    const before = options.cursor === undefined ? "+inf" : `(${options.cursor}`;
    const rows = await this.#script<[number, string, string[]][]>("list", [queue, options.status ?? "", before, options.limit + 1]);
    const now = Date.now();
    const page = rows.slice(0, options.limit);
    const jobs = page.map(([, id, fields]) => toJobInfo(id, fieldsOf(fields), now) as JobInfo);
    const last = page[page.length - 1];
    return rows.length > options.limit && last ? { jobs, cursor: String(last[0]) } : { jobs };
  }

  async check(): Promise<CheckProblem[]> {
    try {
      const info = await this.#command("check()", (client) => client.info("memory"));
      const problem = evictionProblem(info, this.#where);
      return problem ? [problem] : [];
    } catch (error) {
      return [{ message: explainRedisError(error, this.#where, this.#secrets).message }];
    }
  }

  /**
   * Delete every key under the store's prefix: every record, claim and index. For tests and
   * operators; stop the workers that use the store first. Uses SCAN, never KEYS, so a large server
   * keeps answering others meanwhile.
   */
  async destroy(): Promise<number> {
    let deleted = 0;
    let cursor = "0";
    do {
      const [next, keys] = await this.#command("destroy", (client) =>
        client.scan(cursor, "MATCH", `${this.keys.prefix}:*`, "COUNT", 1_000),
      );
      cursor = next;
      if (keys.length > 0) deleted += await this.#command("destroy", (client) => client.unlink(...keys));
    } while (cursor !== "0");
    return deleted;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const ready = this.#ready;
    this.#ready = undefined;
    let client: Redis | undefined;
    // A server that never answers would hold QUIT forever: past closeMs the connection is dropped.
    await closeWithin(
      this.#timeouts.closeMs,
      async () => {
        await this.#feed.close();
        client = await ready?.catch(() => undefined);
        if (client && !this.#shared) await client.quit().catch(() => client?.disconnect());
      },
      () => {
        if (!this.#shared) client?.disconnect();
      },
    );
  }
}

const SCRIPTS = {
  record: new LuaScript(RECORD),
  confirm: new LuaScript(CONFIRM),
  forget: new LuaScript(FORGET),
  begin: new LuaScript(BEGIN),
  settle: new LuaScript(SETTLE),
  cancel: new LuaScript(CANCEL),
  progress: new LuaScript(PROGRESS),
  sweep: new LuaScript(SWEEP),
  stats: new LuaScript(STATS),
  list: new LuaScript(LIST),
};

/**
 * Under memory pressure, an `allkeys-*` policy evicts keys without a TTL too: a held deduplication
 * key or a running job's record would vanish. `noeviction` and the `volatile-*` policies touch only
 * keys with a TTL, which the store sets on finished jobs alone. `info` is the text of `INFO memory`.
 */
export function evictionProblem(info: string, where: string): CheckProblem | undefined {
  const policy = /maxmemory_policy:(\S+)/.exec(info)?.[1];
  if (policy === undefined || !policy.startsWith("allkeys-")) return undefined;
  return {
    message: `[taskport] [${STORE_NAME}] Redis at ${where} has maxmemory-policy "${policy}": under memory pressure it would evict deduplication keys and the records of running jobs. Use noeviction or a volatile-* policy (CONFIG SET maxmemory-policy noeviction), or a Redis of its own for the store.`,
  };
}

/** Host, port, db and password of a URL, for messages and redaction (ioredis parses the URL for the connection). */
function describeUrl(text: string): { host?: string; port?: number; db?: number; password?: string; path?: string } {
  const url = new URL(text);
  const db = url.pathname.replace(/^\/+/, "");
  return {
    host: url.hostname.replace(/^\[|\]$/g, "") || "127.0.0.1",
    port: url.port === "" ? 6379 : Number(url.port),
    db: db === "" ? 0 : Number(db),
    ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
  };
}

/** Build a store from `redis://…?prefix=…` or `rediss://…` (core calls this for a store URL). */
export function createStore(url: URL): RedisStore {
  return new RedisStore({ url: url.toString() });
}
