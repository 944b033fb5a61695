import { createRequire } from "node:module";
import { ConnectionError, redactedError, type TaskportError } from "@taskport/core";

/**
 * The subset of node-redis 3's client that taskport uses (bee-queue 2 depends on node-redis 3,
 * whose types are not installed: the adapter names the shape it needs rather than import them).
 */
export interface RedisClientLike {
  readonly connected: boolean;
  ready: boolean;
  on(event: string, listener: (...args: never[]) => void): this;
  removeListener(event: string, listener: (...args: never[]) => void): this;
  once(event: string, listener: (...args: never[]) => void): this;
  eval(...args: unknown[]): boolean;
  evalsha(...args: unknown[]): boolean;
  del(...args: unknown[]): boolean;
  hset(...args: unknown[]): boolean;
  set(...args: unknown[]): boolean;
  hmget(...args: unknown[]): boolean;
  smembers(...args: unknown[]): boolean;
  ping(callback: (error: Error | null, reply: string) => void): boolean;
  client(...args: unknown[]): boolean;
  quit(callback?: (error: Error | null, reply: unknown) => void): boolean;
  end(flush: boolean): void;
  duplicate(): RedisClientLike;
}

/** node-redis 3 client options, as the user passes them (`host`, `port`, `password`, `db`, `tls`, …). */
export type RedisOptions = Record<string, unknown>;

const require = createRequire(import.meta.url);
// node-redis 3 as bee-queue resolves it, so clients handed to bee-queue are the ones it expects.
const redis = require(require.resolve("redis", { paths: [require.resolve("bee-queue")] })) as {
  createClient(options: RedisOptions): RedisClientLike;
};

/**
 * Open a node-redis client named `name` (CLIENT SETNAME, again after each reconnect, so an
 * operator — or a test — can find and kill exactly these connections) and resolve once it is ready.
 * Rejects on the first error before that, closing the client.
 */
export function openClient(options: RedisOptions, name: string, deadline?: OpenDeadline): Promise<RedisClientLike> {
  // node-redis's connect_timeout bounds the TCP connect (and its reconnecting); the ready check
  // that follows has no bound of its own: a server that accepts and never answers holds it.
  const client = redis.createClient(deadline ? { connect_timeout: deadline.ms, ...options } : { ...options });
  nameClient(client, name);
  return new Promise((resolve, reject) => {
    const timer = deadline
      ? setTimeout(() => {
          client.removeListener("ready", onReady);
          client.removeListener("error", onError);
          client.on("error", () => {});
          client.end(true);
          reject(deadline.late());
        }, deadline.ms)
      : undefined;
    const onError = (error: Error) => {
      clearTimeout(timer);
      client.removeListener("ready", onReady);
      // end(true) fails pending commands (the ready check) with errors of their own; and ending
      // inside node-redis's reply parsing breaks the replies still in the same chunk: end after it.
      client.on("error", () => {});
      setImmediate(() => client.end(true));
      reject(error);
    };
    const onReady = () => {
      clearTimeout(timer);
      client.removeListener("error", onError);
      resolve(client);
    };
    client.once("error", onError);
    client.once("ready", onReady);
  });
}

/** How long {@link openClient} may take to get a ready client, and the error past it. */
export interface OpenDeadline {
  readonly ms: number;
  readonly late: () => Error;
}

/**
 * Name a client on every (re)connection, as its first command after AUTH. It must go first: a
 * pub/sub connection that node-redis resubscribes on reconnect can no longer take CLIENT SETNAME.
 * node-redis queues commands until the connection is ready; flipping `ready` for one command is
 * how node-redis itself sends AUTH and its ready check ahead of that queue.
 */
export function nameClient(client: RedisClientLike, name: string): void {
  const open = client as { ready: boolean };
  client.on("connect", () => {
    const ready = open.ready;
    open.ready = true;
    client.client("setname", name, () => {});
    open.ready = ready;
  });
}

const lua = require(require.resolve("bee-queue/lib/lua", { paths: [require.resolve("bee-queue")] })) as {
  buildCache(client: RedisClientLike): Promise<unknown>;
};

/**
 * bee-queue loads its Lua scripts once, when a queue connects; a restarted Redis has forgotten
 * them and every EVALSHA would fail with NOSCRIPT. Load them again after each reconnect of a
 * command connection (a no-op when the server still has them).
 */
export function reloadScriptsOnReconnect(client: RedisClientLike, onError: (error: Error) => void): void {
  let connections = 0;
  client.on("ready", () => {
    if (++connections > 1) lua.buildCache(client).catch(onError);
  });
  if (client.ready) connections = 1;
}

/**
 * Send the commands a client issues in one turn of the event loop together, in one socket write
 * (or one per `perWrite` commands). node-redis writes each command on its own, and taskport issues
 * them in bursts: one reply chunk from Redis finishes or hands out dozens of jobs at once, and each
 * answer sends a command; fifty callers enqueue in the same tick. A write per command made socket
 * writes half of a busy worker's CPU time. The first command of a turn corks the socket and a
 * process.nextTick uncorks it (Node's documented idiom for batching writes); node-redis's own cork
 * for MULTI nests inside. Commands, their order and their replies are unchanged. Follows the
 * socket across reconnects, as node-redis replaces it.
 */
export function writeOncePerTick(client: RedisClientLike, perWrite = Number.POSITIVE_INFINITY): void {
  type Socket = { cork(): void; uncork(): void };
  const inner = client as unknown as { stream: Socket; write(data: unknown): void };
  const write = inner.write;
  let corked: Socket | undefined;
  let commands = 0;
  inner.write = function (this: typeof inner, data: unknown): void {
    const stream = this.stream;
    if (corked !== stream) {
      corked = stream;
      commands = 0;
      stream.cork();
      process.nextTick(() => {
        if (corked === stream) corked = undefined;
        stream.uncork();
      });
    }
    write.call(this, data);
    if (++commands >= perWrite) {
      // Send this group now and keep collecting: Redis works on it while the next one is built.
      commands = 0;
      stream.uncork();
      stream.cork();
    }
  };
}

/** Run a command through node-redis's callback API. */
export function call<T>(run: (callback: (error: Error | null, reply: T) => void) => unknown): Promise<T> {
  return new Promise((resolve, reject) => {
    run((error, reply) => (error ? reject(error) : resolve(reply)));
  });
}

/** Connection failures worth a retry: the connection dropped while a command was in flight. */
export function isTransient(error: unknown): boolean {
  const e = error as { name?: string; code?: string; message?: string } | undefined;
  return (
    e?.name === "AbortError" ||
    ["ECONNRESET", "ECONNREFUSED", "EPIPE", "ETIMEDOUT", "NR_CLOSED", "UNCERTAIN_STATE"].includes(e?.code ?? "") ||
    /connection (lost|forcefully ended|is already closed)|Stream isn.t writeable|NOSCRIPT/i.test(e?.message ?? "")
  );
}

/** A node-redis error as a named taskport error that says what to do; `secrets` never appear in it. */
export function explainRedisError(error: unknown, where: string, secrets: readonly string[]): TaskportError {
  const code = (error as { code?: string } | undefined)?.code ?? "";
  const raw = redact(String((error as Error | undefined)?.message ?? error), secrets);
  // node-redis keeps what it sent on its errors (`args`: the AUTH user and password): only a redacted copy is kept.
  const cause = redactedError(error, secrets);
  if (/WRONGPASS|NOAUTH|invalid password|invalid username-password/i.test(raw)) {
    return new ConnectionError(
      "bee-queue",
      `Redis at ${where} refused the login (${raw}). Check the user and password in the URL or the redis options.`,
      { cause },
    );
  }
  if (/ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|EHOSTUNREACH/.test(`${code} ${raw}`)) {
    return new ConnectionError("bee-queue", `cannot reach Redis at ${where} (${raw}). Is the server running and the host and port right?`, {
      cause,
    });
  }
  return new ConnectionError("bee-queue", `Redis at ${where} failed: ${raw}`, { cause });
}

export function redact(message: string, secrets: readonly string[]): string {
  let out = message;
  for (const secret of secrets) if (secret) out = out.split(secret).join("***");
  return out;
}
