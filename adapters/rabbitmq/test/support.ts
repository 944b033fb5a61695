import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { delimiter, join } from "node:path";
import { promisify } from "node:util";
import { TcpRelay } from "@taskport/conformance";
import { connect } from "amqplib";
import { closeModel } from "../src/connection.ts";

const run = promisify(execFile);

/**
 * How to run `rabbitmqctl`: `TASKPORT_RABBITMQCTL` (a command line, e.g. `docker compose exec -T
 * rabbitmq rabbitmqctl`) if set; the local one where it is on the PATH; otherwise through the
 * repository's docker-compose service.
 */
const RABBITMQCTL = (
  process.env.TASKPORT_RABBITMQCTL ??
  ((process.env.PATH ?? "").split(delimiter).some((dir) => dir !== "" && existsSync(join(dir, "rabbitmqctl")))
    ? "rabbitmqctl"
    : "docker compose exec -T rabbitmq rabbitmqctl")
)
  .split(/\s+/)
  .filter(Boolean);

function rabbitmqctl(args: string[], timeout: number) {
  return run(RABBITMQCTL[0] as string, [...RABBITMQCTL.slice(1), ...args], { timeout });
}

export const AMQP_URL = process.env.TASKPORT_AMQP_URL ?? "amqp://guest:guest@127.0.0.1:5672";

/**
 * Restart the local broker's application (`rabbitmqctl stop_app` / `start_app`) and resolve once it
 * accepts connections again. Always tries to leave the broker running, even when stopping failed.
 */
export async function restartRabbit(): Promise<void> {
  try {
    await rabbitmqctl(["stop_app"], 60_000);
  } finally {
    await rabbitmqctl(["start_app"], 120_000);
  }
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      await closeModel(await connect(AMQP_URL));
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}

/** Delete the work and dead-letter queues a test created (never anything else). */
export async function deleteQueues(queues: readonly string[]): Promise<void> {
  if (queues.length === 0) return;
  const model = await connect(AMQP_URL);
  try {
    const channel = await model.createChannel();
    for (const queue of queues) {
      await channel.deleteQueue(queue);
      await channel.deleteQueue(`${queue}.dead`);
    }
    await channel.close();
  } finally {
    await closeModel(model);
  }
}

/** Force-close, on the broker's side, the connections whose `connection_name` is `name` (ours only). */
export async function closeConnectionsNamed(name: string): Promise<number> {
  const { stdout } = await rabbitmqctl(["list_connections", "pid", "client_properties", "-q"], 30_000);
  const pids = stdout
    .split("\n")
    .filter((line) => line.includes(`{"connection_name","${name}"}`))
    .map((line) => line.split("\t")[0] as string);
  for (const pid of pids) await rabbitmqctl(["close_connection", pid, "taskport test: simulated connection loss"], 30_000);
  return pids.length;
}

/** A relay in front of the broker (`@taskport/conformance`'s fault relay), for cutting or silencing a connection. */
export function amqpRelay(): Promise<TcpRelay> {
  const target = new URL(AMQP_URL);
  return TcpRelay.start({ host: target.hostname, port: Number(target.port || 5672) });
}
