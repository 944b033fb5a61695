import { once } from "node:events";
import { connect, createServer, type Server, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TcpRelay } from "../src/index.ts";

// An echo server stands for the engine: what the relay forwards comes straight back.
let echo: Server;
let echoPort: number;
const relays: TcpRelay[] = [];

beforeAll(async () => {
  echo = createServer((socket) => {
    socket.on("error", () => {});
    socket.pipe(socket);
  });
  await new Promise<void>((resolve) => echo.listen(0, "127.0.0.1", resolve));
  echoPort = (echo.address() as { port: number }).port;
});
afterAll(async () => {
  await Promise.all(relays.map((relay) => relay.close()));
  await new Promise((resolve) => echo.close(resolve));
});

async function relay(): Promise<TcpRelay> {
  const started = await TcpRelay.start(echoPort);
  relays.push(started);
  return started;
}

async function client(port: number): Promise<{ socket: Socket; received: () => string; closed: Promise<unknown> }> {
  const socket = connect(port, "127.0.0.1");
  socket.on("error", () => {});
  let data = "";
  socket.on("data", (chunk) => {
    data += chunk.toString();
  });
  const closed = once(socket, "close");
  await once(socket, "connect");
  return { socket, received: () => data, closed };
}

const until = (condition: () => boolean) => expect.poll(condition, { timeout: 2_000, interval: 10 }).toBe(true);

describe("TcpRelay", () => {
  it("passes bytes both ways, and cut() destroys every connection while new ones are accepted", async () => {
    const r = await relay();
    const a = await client(r.port);
    a.socket.write("hello");
    await until(() => a.received() === "hello");
    expect(r.connections).toBe(1);
    r.cut();
    await a.closed;
    const b = await client(r.port);
    b.socket.write("again");
    await until(() => b.received() === "again");
    expect(r.accepted).toBe(2);
    b.socket.destroy();
  });

  it("blackHole() keeps connections open and forwards nothing; after restore() new connections pass, black-holed ones stay silent", async () => {
    const r = await relay();
    const a = await client(r.port);
    r.blackHole();
    a.socket.write("lost");
    const b = await client(r.port);
    b.socket.write("lost too");
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(a.received() + b.received()).toBe("");
    expect(a.socket.destroyed || b.socket.destroyed).toBe(false);
    await r.restore();
    a.socket.write("still lost");
    const c = await client(r.port);
    c.socket.write("new");
    await until(() => c.received() === "new");
    expect(a.received()).toBe("");
    for (const { socket } of [a, b, c]) socket.destroy();
  });

  it("blackHole({ direction: 'toServer', afterBytes }) passes that many bytes, then drops only what clients send", async () => {
    const r = await relay();
    r.blackHole({ direction: "toServer", afterBytes: 5 });
    const a = await client(r.port);
    a.socket.write("first");
    await r.held();
    await until(() => a.received() === "first");
    a.socket.write("dropped");
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(a.received()).toBe("first");
    await r.serverQuietFor(50);
    a.socket.destroy();
  });

  it("throttle() delays every chunk and keeps their order", async () => {
    const r = await relay();
    r.throttle({ delayMs: 150 });
    const a = await client(r.port);
    const started = Date.now();
    a.socket.write("one,");
    a.socket.write("two");
    await until(() => a.received() === "one,two");
    // Two hops through the relay (there and back), each at least 150 ms late.
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    a.socket.destroy();
  });

  it("refuse() refuses new connections on its port until restore()", async () => {
    const r = await relay();
    const port = r.port;
    await r.refuse();
    const refused = connect(port, "127.0.0.1");
    const [error] = (await once(refused, "error")) as [NodeJS.ErrnoException];
    expect(error.code).toBe("ECONNREFUSED");
    await r.restore();
    expect(r.port).toBe(port);
    const a = await client(port);
    a.socket.write("open");
    await until(() => a.received() === "open");
    a.socket.destroy();
  });
});
