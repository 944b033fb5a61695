import type pg from "pg";

/** Waits between attempts to listen again after the connection was lost. */
const RECONNECT_MIN_MS = 100;
const RECONNECT_MAX_MS = 5_000;

interface Waker {
  readonly target: string;
  readonly wake: () => void;
  readonly onError: (error: Error) => void;
}

/**
 * One LISTEN connection per outbox, shared by every relay of the process. A commit that wrote rows
 * for a target NOTIFYs with that target as payload, and wakes its relays. A lost connection is
 * reported, opened again with backoff, and every relay is woken once it is back: notifications sent
 * in between are gone.
 */
export class CommitListener {
  readonly #connect: () => Promise<pg.Client>;
  readonly #channel: string;
  readonly #describeLoss: (error: Error | undefined) => Error;
  readonly #wakers = new Set<Waker>();
  #client: pg.Client | undefined;
  #connecting: Promise<void> | undefined;
  #retry: NodeJS.Timeout | undefined;
  #retryMs = RECONNECT_MIN_MS;

  /** `describeLoss` turns a lost connection's error into the one reported (named, without passwords). */
  constructor(connect: () => Promise<pg.Client>, channel: string, describeLoss: (error: Error | undefined) => Error) {
    this.#connect = connect;
    this.#channel = channel;
    this.#describeLoss = describeLoss;
  }

  /** Wake `wake` at each commit for `target`; resolves once the connection listens. */
  async add(target: string, wake: () => void, onError: (error: Error) => void): Promise<() => Promise<void>> {
    const waker: Waker = { target, wake, onError };
    this.#wakers.add(waker);
    try {
      await this.#listen();
    } catch (error) {
      this.#wakers.delete(waker);
      throw error;
    }
    return async () => {
      this.#wakers.delete(waker);
      if (this.#wakers.size === 0) await this.close();
    };
  }

  async close(): Promise<void> {
    this.#wakers.clear();
    clearTimeout(this.#retry);
    this.#retry = undefined;
    await this.#connecting?.catch(() => {});
    const client = this.#client;
    this.#client = undefined;
    await client?.end().catch(() => {});
  }

  #listen(): Promise<void> {
    if (this.#client) return Promise.resolve();
    this.#connecting ??= this.#open().finally(() => {
      this.#connecting = undefined;
    });
    return this.#connecting;
  }

  async #open(): Promise<void> {
    const client = await this.#connect();
    client.on("notification", (message) => {
      if (message.channel !== this.#channel) return;
      for (const waker of this.#wakers) if (waker.target === message.payload) waker.wake();
    });
    const lost = (error?: Error) => this.#lost(client, error);
    client.on("error", lost);
    client.on("end", () => lost());
    try {
      await client.query(`LISTEN "${this.#channel}"`);
    } catch (error) {
      client.removeAllListeners("end");
      await client.end().catch(() => {});
      throw error;
    }
    if (this.#wakers.size === 0) {
      // Every relay left while this connection was being opened.
      client.removeAllListeners("end");
      await client.end().catch(() => {});
      return;
    }
    this.#client = client;
    this.#retryMs = RECONNECT_MIN_MS;
  }

  #lost(client: pg.Client, error: Error | undefined): void {
    if (this.#client !== client) return;
    this.#client = undefined;
    client.end().catch(() => {});
    const reason = this.#describeLoss(error);
    for (const waker of this.#wakers) waker.onError(reason);
    this.#reconnectLater();
  }

  #reconnectLater(): void {
    if (this.#wakers.size === 0 || this.#retry) return;
    this.#retry = setTimeout(() => {
      this.#retry = undefined;
      this.#listen().then(
        () => {
          // Commits made while nobody listened were not heard: every relay looks now.
          for (const waker of this.#wakers) waker.wake();
        },
        () => this.#reconnectLater(),
      );
    }, this.#retryMs);
    this.#retry.unref();
    this.#retryMs = Math.min(this.#retryMs * 2, RECONNECT_MAX_MS);
  }
}
