import { randomBytes } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import { call, openClient, type RedisClientLike, writeOncePerTick } from "../src/redis-client.ts";
import { killClientsNamed, REDIS_HOST, REDIS_PORT, redisCommand, TEST_PREFIX } from "./support.ts";

const id = `tpw${randomBytes(3).toString("hex")}`;
const key = `${TEST_PREFIX}:${id}:counter`;

afterAll(async () => {
  await redisCommand("del", key);
});

type Socket = { _write: (...args: unknown[]) => void; _writev: (...args: unknown[]) => void };

/** Counts the socket writes (syscalls, through Node's `_write`/`_writev`) a client makes, across reconnects. */
function countWrites(client: RedisClientLike): () => number {
  let writes = 0;
  const patched = new WeakSet<object>();
  const patch = () => {
    const socket = (client as unknown as { stream: Socket }).stream;
    if (patched.has(socket)) return;
    patched.add(socket);
    for (const method of ["_write", "_writev"] as const) {
      const original = socket[method];
      socket[method] = function (this: Socket, ...args: unknown[]) {
        writes++;
        return original.apply(this, args);
      };
    }
  };
  patch();
  client.on("connect", patch);
  return () => {
    patch();
    return writes;
  };
}

/** `count` INCRs issued in one synchronous loop, as a burst of finished jobs issues its commands. */
function burst(client: RedisClientLike, count: number): Promise<number[]> {
  const incr = client as unknown as { incr(key: string, callback: (error: Error | null, n: number) => void): boolean };
  return Promise.all(Array.from({ length: count }, () => call<number>((done) => incr.incr(key, done))));
}

describe("bee-queue adapter: one socket write per event-loop turn", () => {
  it("sends a burst of commands in one write, with every reply in order; a plain client writes each on its own", async () => {
    const batched = await openClient({ host: REDIS_HOST, port: REDIS_PORT }, `tp-${id}-batched`);
    const plain = await openClient({ host: REDIS_HOST, port: REDIS_PORT }, `tp-${id}-plain`);
    writeOncePerTick(batched);
    try {
      await redisCommand("del", key);
      const batchedWrites = countWrites(batched);
      const plainWrites = countWrites(plain);
      expect(await burst(batched, 50)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
      expect(await burst(plain, 50)).toEqual(Array.from({ length: 50 }, (_, i) => i + 51));
      expect(batchedWrites()).toBe(1);
      expect(plainWrites()).toBe(50);
    } finally {
      batched.end(true);
      plain.end(true);
    }
  });

  it("with a limit, sends a burst in writes of that many commands, so Redis starts on the first while the rest are built", async () => {
    const client = await openClient({ host: REDIS_HOST, port: REDIS_PORT }, `tp-${id}-limited`);
    writeOncePerTick(client, 16);
    try {
      await redisCommand("del", key);
      const writes = countWrites(client);
      expect(await burst(client, 40)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
      // 16 + 16 + the last 8 at the end of the turn.
      expect(writes()).toBe(3);
    } finally {
      client.end(true);
    }
  });

  it("keeps batching on the new socket after the connection is killed and node-redis reconnects", async () => {
    const name = `tp-${id}-reconnects`;
    const client = await openClient({ host: REDIS_HOST, port: REDIS_PORT }, name);
    client.on("error", () => {});
    writeOncePerTick(client);
    try {
      await redisCommand("del", key);
      const writes = countWrites(client);
      expect(await killClientsNamed(name)).toBe(1);
      await new Promise<void>((resolve) => client.once("ready", () => resolve()));
      const before = writes();
      expect(await burst(client, 20)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
      expect(writes() - before).toBe(1);
    } finally {
      client.end(true);
    }
  });
});
