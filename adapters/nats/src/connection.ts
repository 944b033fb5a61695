import { type JetStreamClient, type JetStreamManager, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection, type NodeConnectionOptions } from "@nats-io/transport-node";
import { explainConnectError } from "./nats-errors.ts";

export interface ConnectionSettings {
  readonly options: NodeConnectionOptions;
  /** Where the server is, without credentials, for messages. */
  readonly where: string;
  /** Bound on each JetStream API call and publish acknowledgement. */
  readonly operationMs: number;
  readonly onError: (error: Error) => void;
}

export interface Handles {
  readonly nc: NatsConnection;
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
}

/**
 * One NATS connection per adapter, opened by the first call that needs it and shared by its
 * producers and workers. The client reconnects by itself, forever: a server restart or a cut is
 * bridged, with publishes buffered meanwhile. Only a failed first connect, or a connection the
 * client gave up on, makes the next call connect anew.
 */
export class NatsConnectionHolder {
  readonly settings: ConnectionSettings;
  #opening: Promise<Handles> | undefined;
  #closed = false;
  #connected = true;
  readonly #reconnectListeners = new Set<() => void>();

  constructor(settings: ConnectionSettings) {
    this.settings = settings;
  }

  handles(): Promise<Handles> {
    if (this.#closed) return Promise.reject(new Error("the adapter is closed"));
    this.#opening ??= this.#open().catch((error: unknown) => {
      this.#opening = undefined;
      throw explainConnectError(error, this.settings.where);
    });
    return this.#opening;
  }

  async #open(): Promise<Handles> {
    const nc = await connect(this.settings.options);
    void this.#watch(nc);
    const opts = { timeout: this.settings.operationMs };
    const handles = { nc, js: jetstream(nc, opts), jsm: await jetstreamManager(nc, { ...opts, checkAPI: false }) };
    // A connection the client gave up on (it only does when told to stop reconnecting) is replaced
    // on the next call.
    void nc.closed().then((error) => {
      if (this.#opening && !this.#closed) this.#opening = undefined;
      if (error && !this.#closed) this.settings.onError(explainConnectError(error, this.settings.where));
    });
    return handles;
  }

  /**
   * Call `listener` at the next reconnects until the returned function is called. A request sent
   * while the connection was down, or in flight when it dropped, never gets its answer (the client
   * does not replay it): an enqueue waiting for acknowledgements listens, and sends again under the
   * same message ids what a reconnect cut off.
   */
  onReconnect(listener: () => void): () => void {
    this.#reconnectListeners.add(listener);
    return () => this.#reconnectListeners.delete(listener);
  }

  /** False between a disconnect and the reconnect that ends it. */
  get connected(): boolean {
    return this.#connected;
  }

  /** Resolves at once while connected, otherwise once the client has reconnected. */
  whenConnected(): Promise<void> {
    if (this.#connected) return Promise.resolve();
    return new Promise((resolve) => {
      const stop = this.onReconnect(() => {
        stop();
        resolve();
      });
    });
  }

  async #watch(nc: NatsConnection): Promise<void> {
    for await (const status of nc.status()) {
      if (status.type === "disconnect") this.#connected = false;
      else if (status.type === "reconnect") {
        this.#connected = true;
        for (const listener of [...this.#reconnectListeners]) listener();
      }
    }
  }

  /**
   * Replace the connection with a new one (subscriptions and consumers carry over): after a call
   * went unanswered past its deadline, or a pull missed its heartbeats, the socket may be silent
   * (a black hole), which the client's own pings take two intervals to notice.
   */
  replace(): void {
    void this.current().then((handles) => {
      if (handles && !handles.nc.isClosed() && this.#connected) handles.nc.reconnect().catch(() => {});
    });
  }

  /** The open connection, if any, without opening one. */
  async current(): Promise<Handles | undefined> {
    return this.#opening?.catch(() => undefined);
  }

  async close(): Promise<void> {
    this.#closed = true;
    const handles = await this.current();
    this.#opening = undefined;
    if (handles && !handles.nc.isClosed()) await handles.nc.close();
  }
}
