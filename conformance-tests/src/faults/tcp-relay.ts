import { connect, createServer, type Server, type Socket } from "node:net";

/** Where a relay forwards to. */
export interface RelayTarget {
  readonly host?: string;
  readonly port: number;
}

/** How a relay slows what it forwards, in both directions. */
export interface Throttle {
  /** Added to every chunk, in ms. */
  readonly delayMs?: number;
  /** The most bytes per second each direction of a connection passes. */
  readonly bytesPerSecond?: number;
}

/** What a black hole swallows: everything, or only what clients send (the server's answers still pass). */
export type BlackHoleDirection = "both" | "toServer";

export interface BlackHoleOptions {
  /** Default `"both"`. */
  readonly direction?: BlackHoleDirection;
  /** Forward this many more bytes to the server first, then fall silent: a fault at a chosen point of a stream. */
  readonly afterBytes?: number;
}

/** What the relay does with traffic now. */
export type RelayMode = "pass" | "blackHole" | "throttle" | "refuse";

interface Pair {
  readonly client: Socket;
  readonly server: Socket;
  /** Black-holed once (both ways, or only what goes to the server): stays so after `restore()`, until closed. */
  silenced: false | BlackHoleDirection;
}

/**
 * A TCP relay in front of a real server, driven by the test, so it can make the network misbehave
 * for one client without touching the shared server or anyone else's connections:
 *
 * - `pass()` (the start): every byte is forwarded both ways;
 * - `cut()`: every open connection is destroyed on both sides at once (new ones are still
 *   accepted, in the current mode) — a reset, a crashed router, a killed server as a client sees it;
 * - `blackHole()`: connections stay open, new ones are accepted, and nothing is forwarded in either
 *   direction (what arrives is dropped) — a silent partition, which only a deadline or a heartbeat
 *   can detect;
 * - `throttle({ delayMs, bytesPerSecond })`: forwards everything, late or slowly;
 * - `refuse()`: stops listening and destroys every connection, so new ones are refused;
 * - `restore()`: back to `pass` for new connections (listening again on the same port after
 *   `refuse`). A connection that was black-holed stays silent until it is closed: its dropped
 *   bytes would leave its protocol stream torn anyway, so a client is expected to notice it (a
 *   deadline, a heartbeat) and replace it, as after a partition that outlived its TCP state.
 *
 * Exported by `@taskport/conformance` for adapter authors' own tests; the suite's `networkFaults`
 * group drives one through `harness.connectVia`.
 */
export class TcpRelay {
  readonly #target: Required<RelayTarget>;
  readonly #pairs = new Set<Pair>();
  #server: Server;
  #port = 0;
  #mode: RelayMode = "pass";
  #throttle: Throttle = {};
  #accepted = 0;
  #direction: BlackHoleDirection = "both";
  /** A black hole waiting for its byte count (`blackHole({ afterBytes })`). */
  #armed: { remaining: number; direction: BlackHoleDirection } | undefined;
  #onBlackHole: (() => void)[] = [];
  #lastFromServer = Date.now();

  private constructor(target: RelayTarget) {
    this.#target = { host: target.host ?? "127.0.0.1", port: target.port };
    this.#server = this.#createServer();
  }

  /** Start a relay to `target` (a port on 127.0.0.1, or host and port) on `port` (default: a free one). */
  static async start(target: RelayTarget | number, port = 0): Promise<TcpRelay> {
    const relay = new TcpRelay(typeof target === "number" ? { port: target } : target);
    await relay.#listen(port);
    return relay;
  }

  /** The port clients connect to (the same one after `refuse()` and `restore()`). */
  get port(): number {
    return this.#port;
  }

  /** `127.0.0.1:<port>`: the host and port to give a client in place of the server's. */
  get address(): string {
    return `127.0.0.1:${this.#port}`;
  }

  get mode(): RelayMode {
    return this.#mode;
  }

  /** Connections open through the relay now. */
  get connections(): number {
    return this.#pairs.size;
  }

  /** Connections accepted since the start (a client that reconnects after a cut counts again). */
  get accepted(): number {
    return this.#accepted;
  }

  /** `url` (any scheme) with its host and port replaced by the relay's. */
  urlOf(url: string | URL): string {
    const via = new URL(url);
    via.hostname = "127.0.0.1";
    via.port = String(this.#port);
    return via.href;
  }

  /** Forward everything, both ways. */
  pass(): void {
    this.#mode = "pass";
    this.#throttle = {};
    this.#armed = undefined;
  }

  /** Destroy both sides of every open connection; the mode stays as it is. */
  cut(): void {
    for (const pair of this.#pairs) this.#destroy(pair);
  }

  /**
   * Keep connections open, accept new ones, forward nothing in either direction (or, with
   * `direction: "toServer"`, only drop what clients send). With `afterBytes`, first forward that
   * many more bytes to the server: `held()` resolves when the black hole begins.
   */
  blackHole(options: BlackHoleOptions = {}): void {
    const direction = options.direction ?? "both";
    if (options.afterBytes !== undefined && options.afterBytes > 0) {
      this.#armed = { remaining: options.afterBytes, direction };
      return;
    }
    this.#armed = undefined;
    this.#mode = "blackHole";
    this.#direction = direction;
    for (const pair of this.#pairs) pair.silenced = direction;
    for (const resolve of this.#onBlackHole.splice(0)) resolve();
  }

  /** Resolves once a black hole has begun (at once if one has). */
  held(): Promise<void> {
    return this.#mode === "blackHole" ? Promise.resolve() : new Promise((resolve) => this.#onBlackHole.push(resolve));
  }

  /** Resolves once the server has sent nothing for `ms`: every answer it owed has come back. */
  async serverQuietFor(ms: number): Promise<void> {
    while (Date.now() - this.#lastFromServer < ms) await new Promise((resolve) => setTimeout(resolve, ms / 4));
  }

  /** Forward everything, `delayMs` late and at most `bytesPerSecond` per direction of a connection. */
  throttle(throttle: Throttle): void {
    this.#mode = "throttle";
    this.#throttle = { ...throttle };
  }

  /** Stop listening and destroy every connection: new ones are refused until `restore()`. */
  async refuse(): Promise<void> {
    if (this.#mode === "refuse") return;
    this.#mode = "refuse";
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.cut();
    await closed;
  }

  /** Back to `pass`, listening again (on the same port) if the relay was refusing. */
  async restore(): Promise<void> {
    const refusing = this.#mode === "refuse";
    this.pass();
    if (refusing) {
      this.#server = this.#createServer();
      await this.#listen(this.#port);
    }
  }

  /** Destroy every connection and stop listening, for good. */
  async close(): Promise<void> {
    if (this.#mode !== "refuse") await this.refuse();
    this.#mode = "refuse";
  }

  #createServer(): Server {
    return createServer((client) => {
      this.#accepted++;
      const server = connect(this.#target.port, this.#target.host);
      const pair: Pair = { client, server, silenced: this.#mode === "blackHole" ? this.#direction : false };
      this.#pairs.add(pair);
      for (const socket of [client, server]) {
        socket.setNoDelay(true);
        socket.on("error", () => {});
        socket.on("close", () => this.#destroy(pair));
      }
      this.#forward(pair, client, server, "toServer");
      this.#forward(pair, server, client, "toClient");
    });
  }

  /** Forward `from` to `to` as the mode says, in order: a throttled chunk never overtakes an earlier one. */
  #forward(pair: Pair, from: Socket, to: Socket, direction: "toServer" | "toClient"): void {
    let last = Promise.resolve();
    from.on("data", (chunk: Buffer) => {
      if (direction === "toClient") this.#lastFromServer = Date.now();
      if (this.#mode === "refuse" || (pair.silenced && (pair.silenced === "both" || direction === "toServer"))) return;
      if (direction === "toServer" && this.#armed) {
        this.#armed.remaining -= chunk.length;
        if (this.#armed.remaining <= 0) {
          // This chunk still passes; the black hole begins with the next one.
          const { direction: swallowed } = this.#armed;
          this.blackHole({ direction: swallowed });
          last = last.then(() => {
            if (this.#pairs.has(pair)) to.write(chunk);
          });
          return;
        }
      }
      if (this.#mode === "pass" || this.#mode === "blackHole") {
        last = last.then(() => {
          if (this.#pairs.has(pair)) to.write(chunk);
        });
        return;
      }
      const { delayMs = 0, bytesPerSecond } = this.#throttle;
      const spread = bytesPerSecond ? Math.ceil((chunk.length / bytesPerSecond) * 1000) : 0;
      last = last.then(
        () =>
          new Promise<void>((resolve) =>
            setTimeout(() => {
              if (this.#pairs.has(pair)) to.write(chunk);
              resolve();
            }, delayMs + spread),
          ),
      );
    });
  }

  #destroy(pair: Pair): void {
    this.#pairs.delete(pair);
    pair.client.destroy();
    pair.server.destroy();
  }

  async #listen(port: number): Promise<void> {
    const server = this.#server;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => {
        server.off("error", reject);
        resolve();
      });
    });
    const address = server.address();
    this.#port = typeof address === "object" && address ? address.port : port;
  }
}
