import { createRequire } from "node:module";
import { BeeQueueAdapter, type BeeQueueAdapterOptions } from "../src/index.ts";

export const REDIS_HOST = process.env.TASKPORT_REDIS_HOST ?? "127.0.0.1";
export const REDIS_PORT = Number(process.env.TASKPORT_REDIS_PORT ?? 6379);

/** One key prefix for this adapter's tests, apart from bee-queue's default `bq` and BullMQ's `bull`. */
export const TEST_PREFIX = "tpbq";

/** Short enough that crash recovery takes seconds, long enough that a busy 2-core machine does not stall live jobs. */
export const TEST_STALL_MS = 2_000;

export function testAdapter(testId: string, options: BeeQueueAdapterOptions = {}): BeeQueueAdapter {
  return new BeeQueueAdapter({
    redis: { host: REDIS_HOST, port: REDIS_PORT },
    prefix: TEST_PREFIX,
    stallIntervalMs: TEST_STALL_MS,
    clientName: `tp-${testId}`,
    ...options,
  });
}

const require = createRequire(import.meta.url);
const redis = require(require.resolve("redis", { paths: [require.resolve("bee-queue")] })) as {
  createClient(options: object): AdminClient;
};

interface AdminClient {
  sendCommand(command: string, args: unknown[], callback: (error: Error | null, reply: unknown) => void): boolean;
  quit(callback?: () => void): boolean;
}

/** Run one command on a short-lived connection of its own. */
export async function redisCommand<T = unknown>(command: string, ...args: unknown[]): Promise<T> {
  const client = redis.createClient({ host: REDIS_HOST, port: REDIS_PORT });
  try {
    return await new Promise<T>((resolve, reject) =>
      client.sendCommand(command, args, (error, reply) => (error ? reject(error) : resolve(reply as T))),
    );
  } finally {
    client.quit();
  }
}

/** Ids of the connections named exactly `name`. */
export async function clientsNamed(name: string): Promise<string[]> {
  const list = await redisCommand<string>("client", "list");
  return list
    .split("\n")
    .map((line) => Object.fromEntries(line.split(" ").map((field) => field.split("=", 2) as [string, string])))
    .filter((fields) => fields.name === name && fields.id)
    .map((fields) => fields.id as string);
}

/** Kill the connections named exactly `name` (ours only: never by type or address), returning how many. */
export async function killClientsNamed(name: string): Promise<number> {
  const ids = await clientsNamed(name);
  for (const id of ids) await redisCommand("client", "kill", "id", id).catch(() => {});
  return ids.length;
}
