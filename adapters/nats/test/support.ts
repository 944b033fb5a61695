import { execSync } from "node:child_process";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { TcpRelay } from "@taskport/conformance";
import { queueNames } from "../src/index.ts";

export const NATS_URL = process.env.TASKPORT_NATS_URL ?? "nats://127.0.0.1:4222";

const server = () => {
  const url = new URL(NATS_URL);
  return { host: url.hostname, port: Number(url.port || 4222) };
};

/**
 * How to restart the server: `TASKPORT_NATS_RESTART` (a shell command, e.g. `docker compose restart
 * nats`) if set; otherwise the local nats-server as this machine runs it, stopped and started with
 * start-stop-daemon, its JetStream store kept in /var/lib/nats-server.
 */
function restartCommand(): string {
  if (process.env.TASKPORT_NATS_RESTART) return process.env.TASKPORT_NATS_RESTART;
  return [
    "start-stop-daemon --stop --oknodo --retry 10 --exec /usr/sbin/nats-server",
    "start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log",
  ].join(" && ");
}

/** Restart NATS and resolve once JetStream answers again. Only the nats conformance run calls it. */
export async function restartNats(): Promise<void> {
  execSync(restartCommand(), { stdio: "ignore", timeout: 60_000 });
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      const nc = await connect({ servers: `${server().host}:${server().port}`, timeout: 1_000 });
      try {
        await (await jetstreamManager(nc)).getAccountInfo();
      } finally {
        await nc.close();
      }
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}

/** Delete the streams of a test's queues (never anything else). */
export async function deleteStreams(queues: readonly string[]): Promise<void> {
  if (queues.length === 0) return;
  const nc = await connect({ servers: `${server().host}:${server().port}` });
  try {
    const jsm = await jetstreamManager(nc);
    for (const queue of queues) {
      const names = queueNames(queue);
      for (const stream of [names.stream, names.deadStream]) await jsm.streams.delete(stream).catch(() => false);
    }
  } finally {
    await nc.close();
  }
}

/** A relay in front of the server (`@taskport/conformance`'s fault relay). */
export function natsRelay(): Promise<TcpRelay> {
  return TcpRelay.start(server());
}

export const NATS_ENGINE = server;
