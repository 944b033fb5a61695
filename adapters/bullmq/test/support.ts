import { Redis } from "ioredis";
import { BullMQAdapter, type BullMQAdapterOptions } from "../src/index.ts";

export const REDIS_HOST = process.env.TASKPORT_REDIS_HOST ?? "127.0.0.1";
export const REDIS_PORT = Number(process.env.TASKPORT_REDIS_PORT ?? 6379);

/** One key prefix for this adapter's tests, apart from BullMQ's default `bull`. */
export const TEST_PREFIX = "tpbull";

/** Short enough that crash recovery takes seconds, long enough that a busy 2-core machine does not stall live jobs. */
export const TEST_LOCK_MS = 3_000;

export function testAdapter(testId: string, options: BullMQAdapterOptions = {}): BullMQAdapter {
  return new BullMQAdapter({
    redis: { host: REDIS_HOST, port: REDIS_PORT },
    prefix: TEST_PREFIX,
    lockDurationMs: TEST_LOCK_MS,
    stalledIntervalMs: 1_000,
    clientName: `tp-${testId.replace(/[^!-~]/g, "_")}`,
    ...options,
  });
}

/** Run one command on a short-lived connection of its own. */
export async function redisCommand<T = unknown>(command: string, ...args: (string | number)[]): Promise<T> {
  const client = new Redis({ host: REDIS_HOST, port: REDIS_PORT, lazyConnect: true });
  try {
    await client.connect();
    return (await client.call(command, ...args)) as T;
  } finally {
    client.disconnect();
  }
}

/** Kill the connections whose name `matches` (ours only: never by type or address), returning how many. */
export async function killClients(matches: (name: string) => boolean): Promise<number> {
  const list = await redisCommand<string>("client", "list");
  const ids = list
    .split("\n")
    .map((line) =>
      Object.fromEntries(line.split(" ").map((field) => [field.slice(0, field.indexOf("=")), field.slice(field.indexOf("=") + 1)])),
    )
    .filter((fields) => fields.name !== undefined && fields.name !== "" && matches(fields.name) && fields.id)
    .map((fields) => fields.id as string);
  for (const id of ids) await redisCommand("client", "kill", "id", id).catch(() => {});
  return ids.length;
}
