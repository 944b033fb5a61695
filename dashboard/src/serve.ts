import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { ConfigurationError } from "@taskport/core";
import { createDashboard, type DashboardOptions } from "./dashboard.ts";

export interface ServeOptions extends DashboardOptions {
  /** Default 4000; 0 picks a free port. */
  readonly port?: number;
  /** Default 127.0.0.1. Any other address needs a `token`. */
  readonly host?: string;
}

export interface ServedDashboard {
  readonly url: string;
  readonly server: Server;
  close(): Promise<void>;
}

const LOOPBACK = new Set(["127.0.0.1", "::1", "localhost"]);

/**
 * Serve the dashboard on its own port. Safe by default: it listens on 127.0.0.1, and refuses any
 * other address unless a token protects it.
 */
export async function serveDashboard(options: ServeOptions = {}): Promise<ServedDashboard> {
  const host = options.host ?? "127.0.0.1";
  if (!LOOPBACK.has(host) && !options.token) {
    throw new ConfigurationError(
      "dashboard",
      `listening on ${host} would let anyone on that network see and redrive your jobs: give a token (--token or TASKPORT_DASHBOARD_TOKEN), or listen on 127.0.0.1.`,
    );
  }
  const handler = createDashboard(options);
  const server = createServer((req, res) => handler(req, res));
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 4000, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const shown = host.includes(":") ? `[${host}]` : host;
  return {
    url: `http://${shown}:${port}/`,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
