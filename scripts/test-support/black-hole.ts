/**
 * A black-hole server on loopback: it accepts TCP connections and never answers, as a stalled proxy
 * or a paused container does. `"silent"` never reads what it is sent either (the bytes wait in the
 * kernel's buffers); `"read"` reads and discards everything and never writes. For testing that every
 * call to a server has a bound. Small and self-contained on purpose: the fault relay in
 * conformance-tests/src/faults does cut/throttle/black-hole between a client and a real server.
 */
import { createServer, type Socket } from "node:net";

export type BlackHoleMode = "silent" | "read";

export interface BlackHole {
  readonly port: number;
  readonly mode: BlackHoleMode;
  /** Connections accepted so far: a test can tell the client did reach the server. */
  readonly connections: number;
  /** Stop listening and destroy every accepted connection. */
  close(): Promise<void>;
}

export async function startBlackHole(mode: BlackHoleMode): Promise<BlackHole> {
  const sockets = new Set<Socket>();
  let connections = 0;
  const server = createServer({ pauseOnConnect: mode === "silent" }, (socket) => {
    connections++;
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    if (mode === "read") socket.on("data", () => {});
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const port = (server.address() as { port: number }).port;
  return {
    port,
    mode,
    get connections() {
      return connections;
    },
    close: () => {
      for (const socket of sockets) socket.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Both kinds, for `describe.each`. */
export const BLACK_HOLE_MODES: readonly BlackHoleMode[] = ["silent", "read"];
