import { TcpRelay } from "@taskport/conformance";
import { Redis } from "ioredis";
import { RedisStore, type RedisStoreOptions } from "../src/index.ts";

export const REDIS_URL = process.env.TASKPORT_REDIS_URL ?? "redis://127.0.0.1:6379/0";

/** A store whose keys all start with `prefix`: a test's own namespace on the shared server. */
export function testStore(prefix: string, options: RedisStoreOptions = {}): RedisStore {
  return new RedisStore({ url: REDIS_URL, prefix, ...options });
}

/** Run `work` with a short-lived connection of its own. */
export async function withRedis<T>(work: (client: Redis) => Promise<T>): Promise<T> {
  const client = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await client.connect();
    return await work(client);
  } finally {
    client.disconnect();
  }
}

/** Every key under `prefix:` (SCAN, never KEYS: the server is shared). */
export function keysOf(prefix: string): Promise<string[]> {
  return withRedis(async (client) => {
    const keys: string[] = [];
    for await (const batch of client.scanStream({ match: `${prefix}:*`, count: 500 })) keys.push(...(batch as string[]));
    return keys;
  });
}

/** Delete what a namespace left behind. */
export async function deletePrefix(prefix: string): Promise<void> {
  const store = testStore(prefix);
  try {
    await store.destroy();
  } finally {
    await store.close();
  }
}

/** Kill the connections whose name `matches` (the store names its own `<prefix>:store`, `<prefix>:watch`). */
export async function killClients(matches: (name: string) => boolean): Promise<number> {
  return withRedis(async (client) => {
    const list = (await client.client("LIST")) as string;
    const ids = list
      .split("\n")
      .map((line) =>
        Object.fromEntries(line.split(" ").map((field) => [field.slice(0, field.indexOf("=")), field.slice(field.indexOf("=") + 1)])),
      )
      .filter((fields) => fields.name && matches(fields.name) && fields.id)
      .map((fields) => fields.id as string);
    for (const id of ids) await client.client("KILL", "ID", id).catch(() => {});
    return ids.length;
  });
}

/** A relay in front of Redis (`@taskport/conformance`'s fault relay), for a store's server that stops answering or goes away. */
export function redisRelay(): Promise<TcpRelay> {
  const target = new URL(REDIS_URL);
  return TcpRelay.start({ host: target.hostname, port: Number(target.port || 6379) });
}
