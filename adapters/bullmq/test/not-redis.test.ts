import { createServer, type Server, type Socket } from "node:net";
import { Backend, ConnectionError, defineTask, TaskportError } from "@taskport/core";
import { afterAll, describe, expect, it } from "vitest";
import { createAdapter } from "../src/index.ts";

// A bullmq:// URL pointed at a port where something other than Redis listens. What comes back
// depends on a race between the socket's error and the command's rejection, so each case is tried
// ten times: every try must be a ConnectionError that says so, never a bare TaskportError.
const servers: Server[] = [];
const sockets = new Set<Socket>();

afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
});

async function listen(onConnection: (socket: Socket) => void): Promise<number> {
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    onConnection(socket);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return (server.address() as { port: number }).port;
}

async function enqueueAt(port: number): Promise<unknown> {
  const adapter = createAdapter(new URL(`bullmq://127.0.0.1:${port}/0`));
  try {
    const task = defineTask("job", async () => {}).using({ backend: new Backend("not-redis", adapter) });
    return await task.enqueue(undefined).then(
      () => new Error("the enqueue succeeded"),
      (error: unknown) => error,
    );
  } finally {
    await adapter.close();
  }
}

const SERVERS: [string, (socket: Socket) => void][] = [
  ["greets in another protocol", (socket) => socket.write("SSH-2.0-OpenSSH_9.6\r\n")],
  ["answers a request in another protocol", (socket) => socket.once("data", () => socket.end("HTTP/1.1 400 Bad Request\r\n\r\n"))],
  ["closes every connection at once", (socket) => socket.end()],
  ["resets every connection at once", (socket) => socket.resetAndDestroy()],
];

describe("bullmq adapter: a URL pointed at a port that is not Redis", () => {
  for (const [what, behave] of SERVERS) {
    it(`a server that ${what}: ConnectionError every time, and check() says so`, async () => {
      const port = await listen(behave);
      const errors = [];
      for (let i = 0; i < 10; i++) errors.push(await enqueueAt(port));
      for (const error of errors) {
        expect(error).toBeInstanceOf(ConnectionError);
        expect((error as Error).message).toMatch(new RegExp(`^\\[taskport\\] \\[bullmq\\] .*127\\.0\\.0\\.1:${port}/0`));
      }
      const adapter = createAdapter(new URL(`bullmq://127.0.0.1:${port}/0`));
      const problems = await adapter.check();
      await adapter.close();
      expect(problems).toHaveLength(1);
      expect(problems[0]?.message).toMatch(/^\[taskport\] \[bullmq\] /);
    }, 30_000);
  }

  it("a server that never answers: the first call ends as a ConnectionError after the default connect bound (10 s), not never", async () => {
    const port = await listen(() => {});
    const started = Date.now();
    const error = await enqueueAt(port);
    expect(error).toBeInstanceOf(ConnectionError);
    expect(error).not.toHaveProperty("constructor", TaskportError);
    expect((error as Error).message).toMatch(/could not connect to 127\.0\.0\.1:\d+\/0 within 10000 ms/);
    expect(Date.now() - started).toBeLessThan(30_000);
  }, 45_000);
});
