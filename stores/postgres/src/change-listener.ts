import type { JobChange, JobStatus } from "@taskport/core";
import type { Database, ListenConnection } from "./database.ts";
import { explain } from "./pg-errors.ts";

/** The NOTIFY channel of a schema's changes (schema names are short enough for it to fit 63 bytes). */
export function channelOf(schema: string): string {
  return `${schema}.jobs`;
}

/** Waits between attempts to listen again after the connection was lost. */
const RECONNECT_MIN_MS = 100;
const RECONNECT_MAX_MS = 5_000;

/**
 * One LISTEN connection per store, shared by every `watch`. Changes come as JSON arrays of
 * `[id, status]` or `[id, "running", true]` (a cancel asked for while the job runs), written by the
 * statements that make them, in the same transaction. A lost connection is opened again with
 * backoff; once it listens again, the cancels still to be honoured are reported again, since a
 * worker that missed one would run a cancelled job to its end. A missed final status only delays a
 * `wait()`, which reads the job again anyway.
 */
export class ChangeListener {
  readonly #db: Database;
  readonly #channel: string;
  readonly #listeners = new Set<(change: JobChange) => void>();
  #connection: ListenConnection | undefined;
  #connecting: Promise<void> | undefined;
  #retry: NodeJS.Timeout | undefined;
  #retryMs = RECONNECT_MIN_MS;

  /** Ids of running jobs whose cancel was asked for: read after a reconnect. */
  readonly #cancelling: () => Promise<string[]>;
  #listenedBefore = false;

  constructor(db: Database, schema: string, cancelling: () => Promise<string[]>) {
    this.#db = db;
    this.#channel = channelOf(schema);
    this.#cancelling = cancelling;
  }

  /** Add a listener; resolves once the connection listens. */
  async add(listener: (change: JobChange) => void): Promise<() => Promise<void>> {
    this.#listeners.add(listener);
    try {
      await this.#listen();
    } catch (error) {
      this.#listeners.delete(listener);
      throw error;
    }
    return async () => {
      this.#listeners.delete(listener);
      if (this.#listeners.size === 0) await this.close();
    };
  }

  async close(): Promise<void> {
    this.#listeners.clear();
    clearTimeout(this.#retry);
    this.#retry = undefined;
    await this.#connecting?.catch(() => {});
    const connection = this.#connection;
    this.#connection = undefined;
    await connection?.release();
  }

  #listen(): Promise<void> {
    if (this.#connection) return Promise.resolve();
    this.#connecting ??= this.#open().finally(() => {
      this.#connecting = undefined;
    });
    return this.#connecting;
  }

  async #open(): Promise<void> {
    const connection = await this.#db.listenConnection();
    const { client } = connection;
    client.on("notification", (message) => {
      if (message.channel === this.#channel && message.payload) this.#deliver(message.payload);
    });
    const lost = () => this.#lost(connection);
    client.on("error", lost);
    client.on("end", lost);
    try {
      await client.query(`LISTEN "${this.#channel}"`);
    } catch (error) {
      client.removeListener("end", lost);
      await connection.release();
      throw explain(error, this.#db.whereabouts);
    }
    if (this.#listeners.size === 0) {
      // Every watcher left while this connection was being opened.
      client.removeListener("end", lost);
      await connection.release();
      return;
    }
    this.#connection = connection;
    this.#retryMs = RECONNECT_MIN_MS;
    if (this.#listenedBefore) this.#replayCancels();
    this.#listenedBefore = true;
  }

  /** Listening again (so no new cancel falls in between): report the cancels that went out meanwhile. */
  #replayCancels(): void {
    this.#cancelling().then(
      (ids) => this.#emit(ids.map((id) => ({ id, status: "running", cancelRequested: true }))),
      // The store is down again: the next reconnect tries again.
      () => {},
    );
  }

  #lost(connection: ListenConnection): void {
    if (this.#connection !== connection) return;
    this.#connection = undefined;
    void connection.release();
    this.#reconnectLater();
  }

  #reconnectLater(): void {
    if (this.#listeners.size === 0 || this.#retry) return;
    this.#retry = setTimeout(() => {
      this.#retry = undefined;
      this.#listen().catch(() => this.#reconnectLater());
    }, this.#retryMs);
    this.#retry.unref();
    this.#retryMs = Math.min(this.#retryMs * 2, RECONNECT_MAX_MS);
  }

  #deliver(payload: string): void {
    let entries: [string, JobStatus, boolean?][];
    try {
      entries = JSON.parse(payload);
    } catch {
      return; // someone else's NOTIFY on this channel
    }
    if (!Array.isArray(entries)) return;
    this.#emit(entries.map(([id, status, cancelRequested]) => (cancelRequested ? { id, status, cancelRequested: true } : { id, status })));
  }

  #emit(changes: readonly JobChange[]): void {
    for (const change of changes) {
      for (const listener of this.#listeners) {
        try {
          listener(change);
        } catch {
          // One listener's failure must not keep a change from the others.
        }
      }
    }
  }
}
