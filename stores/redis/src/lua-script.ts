import { createHash } from "node:crypto";
import type { Redis } from "ioredis";

/**
 * A Lua script run by its SHA1 (EVALSHA), sent in full only when the server does not have it yet
 * (after its first use, a restart or SCRIPT FLUSH) — what ioredis's `defineCommand` does, without
 * adding methods to a client that may be the application's own.
 */
export class LuaScript {
  readonly #source: string;
  readonly #sha: string;

  constructor(source: string) {
    this.#source = source;
    this.#sha = createHash("sha1").update(source).digest("hex");
  }

  async run<T>(client: Redis, keys: readonly string[], args: readonly (string | number)[]): Promise<T> {
    try {
      return (await client.evalsha(this.#sha, keys.length, ...keys, ...args)) as T;
    } catch (error) {
      if (!String((error as Error | undefined)?.message).startsWith("NOSCRIPT")) throw error;
      return (await client.eval(this.#source, keys.length, ...keys, ...args)) as T;
    }
  }
}
