import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { type AddressInfo, createServer, connect as netConnect, type Server, type Socket } from "node:net";
import { delimiter, join } from "node:path";
import { promisify } from "node:util";
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

/**
 * A TCP relay in front of the broker, for cutting a connection at a chosen point of a publish.
 * Once `holdAfterBytes` bytes have come from clients, it stops passing their data on (dropping it)
 * while still passing the broker's answers back; `cut()` then destroys every open connection.
 * Connections made after the cut are relayed in full.
 */
export class HoldingRelay {
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  #fromClients = 0;
  #holding = false;
  #cutDone = false;
  #lastFromBroker = Date.now();
  readonly #onHold: (() => void)[] = [];

  private constructor(server: Server) {
    this.#server = server;
  }

  static async start(holdAfterBytes: number): Promise<HoldingRelay> {
    const target = new URL(AMQP_URL);
    const relay: HoldingRelay = new HoldingRelay(
      createServer((client) => {
        const broker = netConnect(Number(target.port || 5672), target.hostname);
        const holds = !relay.#cutDone;
        for (const socket of [client, broker]) {
          relay.#sockets.add(socket);
          socket.on("error", () => {});
          socket.on("close", () => {
            relay.#sockets.delete(socket);
            client.destroy();
            broker.destroy();
          });
        }
        client.on("data", (chunk: Buffer) => {
          if (holds && relay.#holding) return;
          broker.write(chunk);
          if (!holds) return;
          relay.#fromClients += chunk.length;
          if (relay.#fromClients >= holdAfterBytes) {
            relay.#holding = true;
            for (const resolve of relay.#onHold.splice(0)) resolve();
          }
        });
        broker.on("data", (chunk: Buffer) => {
          relay.#lastFromBroker = Date.now();
          client.write(chunk);
        });
      }),
    );
    await new Promise<void>((resolve) => relay.#server.listen(0, "127.0.0.1", resolve));
    return relay;
  }

  /** The broker's URL through this relay. */
  get url(): string {
    const url = new URL(AMQP_URL);
    url.host = `127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
    return url.toString();
  }

  /** Resolves once client data is being held back. */
  held(): Promise<void> {
    return this.#holding ? Promise.resolve() : new Promise((resolve) => this.#onHold.push(resolve));
  }

  /** Resolves once the broker has sent nothing for `ms`: every confirm it owes has arrived. */
  async brokerQuietFor(ms: number): Promise<void> {
    while (Date.now() - this.#lastFromBroker < ms) await new Promise((resolve) => setTimeout(resolve, ms / 4));
  }

  cut(): void {
    this.#cutDone = true;
    this.#holding = false;
    for (const socket of this.#sockets) socket.destroy();
  }

  close(): Promise<void> {
    this.cut();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }
}
