import type { JobChange } from "@taskport/core";
import type { Redis } from "ioredis";

export interface ChangeFeedOptions {
  readonly channel: string;
  /** Opens the dedicated subscriber connection (connected, or rejecting with a named error). */
  readonly open: () => Promise<Redis>;
  /**
   * Ids of running jobs whose cancel is still to be honoured: read after a reconnect, since a
   * cancel published while the connection was down reached no one.
   */
  readonly cancelling: () => Promise<string[]>;
  readonly onError: (error: unknown) => void;
}

/**
 * The store's changes, as the settle and cancel scripts publish them (one JSON array per call), on
 * one subscriber connection shared by every listener of the store. ioredis subscribes again after
 * a reconnect; then the cancels still pending are reported again, because a worker that missed one
 * would run a cancelled job to its end. A missed final status only delays a `wait()`, which reads
 * the job again each second anyway.
 */
export class ChangeFeed {
  readonly #options: ChangeFeedOptions;
  readonly #listeners = new Set<(change: JobChange) => void>();
  #subscriber: Promise<Redis> | undefined;

  constructor(options: ChangeFeedOptions) {
    this.#options = options;
  }

  async add(listener: (change: JobChange) => void): Promise<() => Promise<void>> {
    this.#listeners.add(listener);
    try {
      await this.#subscribe();
    } catch (error) {
      this.#listeners.delete(listener);
      throw error;
    }
    return async () => {
      this.#listeners.delete(listener);
      if (this.#listeners.size === 0) await this.close();
    };
  }

  #subscribe(): Promise<Redis> {
    this.#subscriber ??= (async () => {
      const subscriber = await this.#options.open();
      let connections = 0;
      subscriber.on("ready", () => {
        if (++connections > 1) this.#replayCancels(subscriber);
      });
      subscriber.on("message", (channel: string, text: string) => {
        if (channel === this.#options.channel) this.#emitAll(text);
      });
      try {
        await subscriber.subscribe(this.#options.channel);
      } catch (error) {
        subscriber.disconnect();
        throw error;
      }
      connections = 1;
      return subscriber;
    })();
    this.#subscriber.catch(() => {
      this.#subscriber = undefined;
    });
    return this.#subscriber;
  }

  /** After a reconnect: once subscribed again (so no new cancel falls in between), report the pending ones. */
  #replayCancels(subscriber: Redis): void {
    subscriber
      .subscribe(this.#options.channel)
      .then(() => this.#options.cancelling())
      .then((ids) => {
        for (const id of ids) this.#emit({ id, status: "running", cancelRequested: true });
      })
      .catch(this.#options.onError);
  }

  #emitAll(text: string): void {
    let changes: JobChange[];
    try {
      changes = JSON.parse(text) as JobChange[];
    } catch (error) {
      this.#options.onError(error);
      return;
    }
    for (const change of changes) this.#emit(change);
  }

  #emit(change: JobChange): void {
    for (const listener of this.#listeners) {
      try {
        listener(change);
      } catch (error) {
        this.#options.onError(error);
      }
    }
  }

  async close(): Promise<void> {
    const subscriber = this.#subscriber;
    this.#subscriber = undefined;
    const client = await subscriber?.catch(() => undefined);
    if (client) await client.quit().catch(() => client.disconnect());
  }
}
