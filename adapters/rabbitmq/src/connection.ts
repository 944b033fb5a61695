import { setTimeout as sleep } from "node:timers/promises";
import { ConnectionError, connectTimedOut } from "@taskport/core";
import { type Channel, type ChannelModel, type ConfirmChannel, connect, type Options } from "amqplib";
import { explainConnectError, isConnectionLoss } from "./amqp-errors.ts";

export interface ConnectionSettings {
  /** A URL or amqplib's connection object; never shown to a user (it may hold a password). */
  readonly target: string | Options.Connect;
  /** The same place with the password hidden, for messages. */
  readonly where: string;
  readonly socketOptions: Record<string, unknown>;
  /** After a connection that worked is lost, keep retrying an operation this long. */
  readonly reconnectTimeoutMs: number;
  /** amqplib's socket `timeout` while connecting (TCP, TLS and the AMQP handshake), for the error past it. */
  readonly connectTimeoutMs: number;
}

/**
 * One AMQP connection, opened on first use and reopened on the next use after it is lost, with
 * one confirm channel for publishing. Consumers open their own channels on it.
 */
export class AmqpConnection {
  readonly settings: ConnectionSettings;
  #model: Promise<ChannelModel> | undefined;
  #publisher: Promise<ConfirmChannel> | undefined;
  #publisherChannel: ConfirmChannel | undefined;
  #everConnected = false;
  #closed = false;
  /** Bumped on every new connection, so caches of declared queues know when to start over. */
  generation = 0;
  readonly #open = new Set<ChannelModel>();

  constructor(settings: ConnectionSettings) {
    this.settings = settings;
  }

  /** True while a connection is open (a lost one clears this at once). */
  get connected(): boolean {
    return this.#model !== undefined && this.#everConnected;
  }

  /** The publishing channel when it is open already, to skip an await on the hot path. */
  openPublisher(): ConfirmChannel | undefined {
    return this.#publisherChannel;
  }

  get closed(): boolean {
    return this.#closed;
  }

  model(): Promise<ChannelModel> {
    if (this.#closed) return Promise.reject(new ConnectionError("rabbitmq", "the adapter is closed. Create a new one."));
    if (!this.#model) {
      const opening = this.#connect();
      this.#model = opening;
      opening.catch(() => {
        if (this.#model === opening) this.#model = undefined;
      });
    }
    return this.#model;
  }

  async #connect(): Promise<ChannelModel> {
    let model: ChannelModel;
    try {
      model = await connect(this.settings.target, this.settings.socketOptions);
    } catch (error) {
      // amqplib's socket timeout (no answer to the handshake) fails with a bare "connect ETIMEDOUT".
      if (error instanceof Error && /^connect ETIMEDOUT$/.test(error.message) && !(error as { code?: unknown }).code) {
        throw connectTimedOut("rabbitmq", "connect", this.settings.where, this.settings.connectTimeoutMs);
      }
      throw explainConnectError(error, this.settings.where);
    }
    if (this.#closed) {
      await closeModel(model);
      throw new ConnectionError("rabbitmq", "the adapter was closed while connecting.");
    }
    this.#everConnected = true;
    this.generation++;
    this.#open.add(model);
    const current = this.#model;
    // Errors are followed by `close`; listening keeps them from being thrown as unhandled.
    model.on("error", () => {});
    model.on("close", () => {
      this.#open.delete(model);
      if (this.#model === current) {
        this.#model = undefined;
        this.#publisher = undefined;
        this.#publisherChannel = undefined;
      }
    });
    return model;
  }

  /** A throwaway channel: an AMQP error on it (a conflicting declaration) closes only it. */
  async withChannel<T>(work: (channel: Channel) => Promise<T>): Promise<T> {
    const model = await this.model();
    const channel = await model.createChannel();
    channel.on("error", () => {});
    try {
      return await work(channel);
    } finally {
      await closeOrLose(channel);
    }
  }

  publisher(): Promise<ConfirmChannel> {
    if (!this.#publisher) {
      const opening = (async () => {
        const model = await this.model();
        const channel = await model.createConfirmChannel();
        channel.on("error", () => {});
        channel.on("close", () => {
          if (this.#publisherChannel === channel) this.#publisherChannel = undefined;
          if (this.#publisher === opening) this.#publisher = undefined;
        });
        this.#publisherChannel = channel;
        return channel;
      })();
      this.#publisher = opening;
      opening.catch(() => {
        if (this.#publisher === opening) this.#publisher = undefined;
      });
    }
    return this.#publisher;
  }

  /**
   * Run `operation`; when the connection is lost under it after having worked once, reconnect and
   * run it again until `reconnectTimeoutMs` has passed. A broker that was never reached fails at
   * once: that is a configuration problem, which waiting will not fix. `firstTry` is an attempt the
   * caller made already and how it failed, so that a hot path tries once without entering this loop.
   */
  async retrying<T>(operation: () => Promise<T>, firstTry?: { readonly failed: unknown }): Promise<T> {
    const deadline = Date.now() + this.settings.reconnectTimeoutMs;
    let pause = 100;
    let tried = firstTry !== undefined;
    let error = firstTry?.failed;
    for (;;) {
      if (tried) {
        if (this.#closed || !this.#everConnected || !isConnectionLoss(error) || Date.now() + pause > deadline) {
          throw error instanceof Error && "origin" in error ? error : explainConnectError(error, this.settings.where);
        }
        await sleep(pause);
        pause = Math.min(pause * 2, 2_000);
      }
      try {
        return await operation();
      } catch (caught) {
        error = caught;
        tried = true;
      }
    }
  }

  /**
   * Destroy every socket of this connection now, for a call or a close that a silent broker holds:
   * amqplib then fails what waits on them, and the next use opens a new connection.
   */
  destroy(): void {
    for (const model of this.#open) {
      // With an error: amqplib notices a socket that errors (not one destroyed quietly), and
      // closes the connection, so the next use opens a new one.
      (model.connection as unknown as { stream?: { destroy(error?: Error): void } }).stream?.destroy(
        new Error("abandoned: the broker did not answer in time"),
      );
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const opening = this.#model;
    this.#model = undefined;
    this.#publisher = undefined;
    this.#publisherChannel = undefined;
    await opening?.catch(() => undefined);
    await Promise.allSettled([...this.#open].map((model) => closeModel(model)));
    this.#open.clear();
  }
}

/**
 * Close a connection and wait until its socket is really gone: amqplib resolves `close()` on the
 * broker's close-ok, a moment before the TCP socket closes, and a caller that closed an adapter
 * expects no socket of it left.
 */
export async function closeModel(model: ChannelModel): Promise<void> {
  const socket = (model.connection as unknown as { stream?: NodeJS.EventEmitter & { destroyed?: boolean } }).stream;
  const gone =
    socket && !socket.destroyed
      ? new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, 1_000);
          socket.once("close", () => {
            clearTimeout(timer);
            resolve();
          });
        })
      : Promise.resolve();
  await closeOrLose(model);
  await gone;
}

/**
 * Close a channel or connection, ignoring errors. amqplib's `close()` settles on the broker's
 * close-ok and never if the socket dies while it waits for one, so the `close` event, which comes
 * either way, ends the wait too.
 */
export async function closeOrLose(closable: {
  close(): Promise<void>;
  once(event: "close", listener: () => void): unknown;
}): Promise<void> {
  const closed = new Promise<void>((resolve) => closable.once("close", () => resolve()));
  await Promise.race([closable.close().catch(() => {}), closed]);
}
