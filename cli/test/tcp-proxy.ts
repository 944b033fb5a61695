import { connect, createServer, type Server, type Socket } from "node:net";

/**
 * A TCP proxy in front of a real server, so a test can cut the CLI's connections (and refuse new
 * ones) without touching the shared server or anyone else's connections.
 */
export class TcpProxy {
  readonly #sockets = new Set<Socket>();
  readonly #server: Server;

  constructor(targetPort: number, targetHost = "127.0.0.1") {
    this.#server = createServer((client) => {
      const upstream = connect(targetPort, targetHost);
      for (const socket of [client, upstream]) {
        this.#sockets.add(socket);
        socket.on("close", () => this.#sockets.delete(socket));
        socket.on("error", () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream).pipe(client);
    });
  }

  /** Start accepting on `port` (default: a free one), e.g. the port of an earlier proxy, to come back. */
  async listen(port = 0): Promise<number> {
    await new Promise<void>((resolve) => this.#server.listen(port, "127.0.0.1", resolve));
    const address = this.#server.address();
    return typeof address === "object" && address ? address.port : 0;
  }

  /** Drop every proxied connection; new ones are still accepted. */
  cut(): void {
    for (const socket of this.#sockets) socket.destroy();
  }

  /** Drop every connection and refuse new ones. */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.cut();
    await closed;
  }
}
