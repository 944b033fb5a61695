import { type CheckProblem, ConfigurationError, connectWithin, deadline, type JobInfo, TaskportError, type Timeouts } from "@taskport/core";
import { type Processor, Queue, Worker, type WorkerOptions } from "bullmq";
import { Redis, type RedisOptions } from "ioredis";
import type { Datastore, EnqueueTime } from "./datastore.ts";
import { explainRedisError } from "./redis-errors.ts";

/** The longest a BullMQ worker's blocking pop waits for Redis's answer (BullMQ caps its block at 10 s). */
const LONGEST_BLOCK_MS = 10_000;
const CANCELLED_KEY = "tp-cancelled";
/** Job hashes read per round trip while scanning a queue. */
const CHUNK = 1_000;

export interface RedisDatastoreOptions {
  readonly redis: RedisOptions;
  /** The caller's own client, never closed here. */
  readonly connection: Redis | undefined;
  readonly prefix: string;
  readonly clientName: string;
  readonly timeouts: Timeouts;
}

/** BullMQ on Redis: one ioredis client shared by the queues; each worker opens its own. */
export class RedisDatastore implements Datastore {
  readonly where: string;
  readonly jsonAsText = false;
  // BullMQ's age limits on Redis trim a sorted set by score in the finishing script: cheap.
  readonly retentionBy = "per-job";
  readonly #options: RedisDatastoreOptions;
  readonly #redis: RedisOptions;
  readonly #ownClient: boolean;
  readonly #secrets: string[];
  #client: Redis | undefined;
  #ready: Promise<Redis> | undefined;

  constructor(options: RedisDatastoreOptions) {
    this.#options = options;
    this.#redis = { host: "127.0.0.1", port: 6379, ...(options.connection?.options ?? {}), ...options.redis };
    this.#ownClient = options.connection === undefined;
    this.#client = options.connection;
    const r = this.#redis;
    this.where = r.path ?? `${r.host}:${r.port}/${r.db ?? 0}`;
    this.#secrets = [r.password].filter((s): s is string => typeof s === "string" && s !== "");
  }

  async connect(): Promise<void> {
    await this.#connect();
  }

  #connect(): Promise<Redis> {
    this.#ready ??= (async () => {
      if (!this.#ownClient) return this.#client as Redis;
      const { connectMs, operationMs } = this.#options.timeouts;
      // ioredis's own bounds: a socket that does not connect is destroyed and retried, a command
      // without a reply rejects; the ones below bound the whole handshake and name the call.
      const client = new Redis({
        connectTimeout: connectMs,
        // A second after the adapter's own bound, whose DeadlineError names the call and which
        // replaces the connection a silent server holds.
        commandTimeout: operationMs + 1_000,
        ...this.#redis,
        lazyConnect: true,
        connectionName: this.#options.clientName,
      });
      // Errors of an established connection reach callers as rejected commands; ioredis reconnects.
      // While connecting, the first error ends the attempt with its reason (WRONGPASS, a reply that
      // is not Redis's), which connect() would reduce to "Connection is closed", or only report
      // after its own retries.
      let failed: ((error: unknown) => void) | undefined;
      const firstError = new Promise<never>((_, reject) => {
        failed = reject;
      });
      client.on("error", (error: unknown) => failed?.(error));
      try {
        // A server that accepts the connection but never answers (another service on the port)
        // would otherwise hold the first call forever.
        const connected = (async () => {
          await client.connect();
          await client.ping();
        })();
        await connectWithin("bullmq", "connect", this.where, connectMs, Promise.race([connected, firstError]), () => client.disconnect());
      } catch (error) {
        client.disconnect();
        this.#ready = undefined;
        throw this.explain(error);
      } finally {
        failed = undefined;
      }
      this.#client = client;
      return client;
    })();
    return this.#ready;
  }

  get #connected(): Redis {
    if (!this.#client) throw new TaskportError("bullmq", "not connected to Redis yet.");
    return this.#client;
  }

  queue(name: string): Queue {
    return new Queue(name, { connection: this.#connected, prefix: this.#options.prefix });
  }

  worker(queue: string, processor: Processor, options: Omit<WorkerOptions, "connection">): Worker {
    const connection: RedisOptions = {
      connectTimeout: this.#options.timeouts.connectMs,
      // A worker's connections wait on blocking pops, which Redis answers within BullMQ's
      // longest block (10 s): one silent for longer than that and operationMs is dead (a
      // partition that outlived its TCP state), and ioredis replaces it.
      socketTimeout: this.#options.timeouts.operationMs + LONGEST_BLOCK_MS,
      ...this.#redis,
      maxRetriesPerRequest: null,
      // BullMQ names only the blocking connection (`<prefix>:<base64 queue>:w:<name>`); this names the other.
      connectionName: `${this.#options.clientName}-worker`,
    };
    // ioredis options are what BullMQ passes to ioredis; its own type narrows a few fields.
    return new Worker(queue, processor, {
      ...options,
      prefix: this.#options.prefix,
      connection: connection as WorkerOptions["connection"],
    });
  }

  #key(queue: string, key: string): string {
    return `${this.#options.prefix}:${queue}:${key}`;
  }

  async cancelled(queue: string, id: string): Promise<JobInfo | null> {
    const json = await this.#connected.hget(this.#key(queue, CANCELLED_KEY), id);
    return json ? (JSON.parse(json) as JobInfo) : null;
  }

  async recordCancelled(queue: string, info: JobInfo): Promise<void> {
    // BullMQ keeps no record of a removed job; taskport's cancelled status lives beside its keys.
    await this.#connected.hset(this.#key(queue, CANCELLED_KEY), info.id, JSON.stringify(info));
  }

  cancelledCount(queue: string): Promise<number> {
    return this.#connected.hlen(this.#key(queue, CANCELLED_KEY));
  }

  async cancelledJobs(queue: string): Promise<JobInfo[]> {
    return (await this.#connected.hvals(this.#key(queue, CANCELLED_KEY))).map((json) => JSON.parse(json) as JobInfo);
  }

  /** Names of the queues under the prefix, from their `meta` hashes (every BullMQ Queue writes one). */
  async listQueues(): Promise<string[]> {
    const client = await this.#connect();
    const prefix = this.#options.prefix;
    const names = new Set<string>();
    const pattern = `${prefix.replace(/[*?[\]\\]/g, "\\$&")}:*:meta`;
    let cursor = "0";
    do {
      const [next, keys] = await client.scan(cursor, "MATCH", pattern, "COUNT", 1_000);
      cursor = next;
      for (const key of keys) names.add(key.slice(prefix.length + 1, -":meta".length));
    } while (cursor !== "0");
    return [...names];
  }

  async enqueueTimes(queue: string, ids: readonly string[]): Promise<Map<string, EnqueueTime>> {
    const times = new Map<string, EnqueueTime>();
    for (let i = 0; i < ids.length; i += CHUNK) {
      const chunk = ids.slice(i, i + CHUNK);
      const pipeline = this.#connected.pipeline();
      for (const id of chunk) pipeline.hmget(this.#key(queue, id), "timestamp", "delay");
      const replies = (await pipeline.exec()) ?? [];
      chunk.forEach((id, k) => {
        const [timestamp, delay] = (replies[k]?.[1] as (string | null)[] | null) ?? [];
        if (timestamp) times.set(id, { timestamp: Number(timestamp), delay: Number(delay ?? 0) });
      });
    }
    return times;
  }

  async resetAttempts(queue: string, id: string): Promise<void> {
    // Older versions in the peer range (5.59) ignore retry()'s reset options, so the job hash's
    // fields ("atm", "ats", "stc" in every version) are reset here first.
    const key = this.#key(queue, id);
    await this.#connected.multi().hset(key, "atm", "0", "ats", "0").hdel(key, "stc").exec();
  }

  async problems(): Promise<CheckProblem[]> {
    const client = await this.#connect();
    const info = await deadline("bullmq", "check()", this.where, this.#options.timeouts.operationMs, client.info("memory"), () =>
      this.dropConnection(),
    );
    const problem = evictionProblem(info, this.where);
    return problem ? [problem] : [];
  }

  explain(error: unknown): TaskportError {
    return explainRedisError(error, this.where, this.#secrets);
  }

  dropConnection(): void {
    // A connection that went silent stays silent (a partition that outlived its TCP state):
    // drop it and let ioredis reconnect, so the next call does not wait on it too.
    if (this.#ownClient) this.#client?.disconnect(true);
  }

  async close(): Promise<void> {
    const client = await this.#ready?.catch(() => undefined);
    if (client && this.#ownClient) await client.quit().catch(() => client.disconnect());
    if (this.#ownClient) this.#client = undefined;
  }

  forceClose(): void {
    if (this.#ownClient) this.#client?.disconnect();
  }
}

/**
 * BullMQ's own requirement: under memory pressure any other policy evicts queue keys, losing
 * jobs silently. `info` is the text of `INFO memory`.
 */
export function evictionProblem(info: string, where: string): CheckProblem | undefined {
  const policy = /maxmemory_policy:(\S+)/.exec(info)?.[1];
  if (policy === undefined || policy === "noeviction") return undefined;
  return {
    message: `[taskport] [bullmq] Redis at ${where} has maxmemory-policy "${policy}": under memory pressure it would evict queue keys and lose jobs. BullMQ requires "noeviction": set it in redis.conf or run CONFIG SET maxmemory-policy noeviction.`,
  };
}

/** A Redis client name may not hold spaces or non-ASCII characters. */
export function validateClientName(name: string): string {
  if (!/^[!-~]+$/.test(name)) {
    throw new ConfigurationError("bullmq", `clientName "${name}" may not contain spaces or non-ASCII characters.`);
  }
  return name;
}
