import { join } from "node:path";
import { Emulator } from "../../adapters/sqs/test/support.ts";

/** An engine under soak: where it is, and how long its workers may need to recover a killed worker's jobs. */
export interface SoakEngine {
  /** The backend URL (the producer's; the workers' goes through the relay). */
  readonly url: string;
  /** Whether workers reach it over TCP, so that the relay can come between. */
  readonly network: boolean;
  /** The relay's target: the server's port on loopback. */
  readonly target: number;
  /** How long to wait, after the load, for every job to complete. */
  readonly drainMs: number;
  stop(): Promise<void>;
}

export const SOAKED_ENGINES = ["bullmq", "bee-queue", "pg-boss", "rabbitmq", "sqs", "sqlite"];

// Short deadlines, so that a worker notices a silent or dead connection within seconds, not the
// defaults' half minute; the servers are on loopback.
const DEADLINES = "connectTimeoutMs=3000&operationTimeoutMs=5000&closeTimeoutMs=5000";
const env = (name: string, fallback: string) => process.env[name] ?? fallback;

export async function engineUnderSoak(name: string, dir: string): Promise<SoakEngine> {
  const server = (url: string, drainMs: number): SoakEngine => ({
    url: `${url}${url.includes("?") ? "&" : "?"}${DEADLINES}`,
    network: true,
    target: Number(new URL(url).port),
    drainMs,
    stop: async () => {},
  });
  switch (name) {
    case "bullmq":
      // BullMQ finds a dead worker's jobs at its stalled check, every 30 s.
      return server(env("TASKPORT_REDIS_URL", "bullmq://127.0.0.1:6379/0").replace(/^redis:/, "bullmq:"), 120_000);
    case "bee-queue":
      return server(env("TASKPORT_REDIS_URL", "bee-queue://127.0.0.1:6379/0").replace(/^redis:/, "bee-queue:"), 120_000);
    case "pg-boss":
      return server(env("TASKPORT_PG_URL", "postgres://postgres@127.0.0.1:5432/test"), 120_000);
    case "rabbitmq":
      return server(env("TASKPORT_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672"), 60_000);
    case "sqs": {
      const emulator = new Emulator();
      await emulator.start();
      const engine = server(emulator.url("&createQueues=true&visibilityTimeout=5&waitTimeSeconds=2"), 60_000);
      return { ...engine, stop: () => emulator.stop() };
    }
    case "sqlite":
      return { url: `sqlite:${join(dir, "soak.db")}?leaseMs=2000`, network: false, target: 0, drainMs: 60_000, stop: async () => {} };
    default:
      throw new Error(`no soak for engine "${name}"`);
  }
}
