import type { Connection } from "./connection.ts";

/** Why a monitor listener is called: another connection committed, or a periodic look is due. */
export type ChangeKind = "commit" | "periodic";

/** Every this many ms, listeners look even when no other connection committed. */
const PERIODIC_MS = 1_000;

/**
 * Finds other connections' commits to the file by polling `PRAGMA data_version`, which costs a few
 * microseconds and no disk read: how a worker notices other processes' enqueues within
 * `pollIntervalMs`. The periodic call covers what no commit announces: a worker that died with jobs
 * leased (their lease runs out with nobody writing) and commits on the app's handle when taskport
 * shares it (a connection does not see its own commits in `data_version`).
 */
export class ChangeMonitor {
  readonly #connection: () => Connection | undefined;
  readonly #intervalMs: number;
  readonly #listeners = new Map<(kind: ChangeKind) => void, boolean>();
  #timer: NodeJS.Timeout | undefined;
  #version: number | undefined;
  #lastPeriodic = 0;

  constructor(connection: () => Connection | undefined, intervalMs: number) {
    this.#connection = connection;
    this.#intervalMs = Math.max(1, intervalMs);
  }

  /** Listen until the returned function is called; `keepAlive` listeners (workers) keep the process running. */
  subscribe(listener: (kind: ChangeKind) => void, keepAlive: boolean): () => void {
    this.#listeners.set(listener, keepAlive);
    this.#timer ??= setInterval(() => this.#tick(), this.#intervalMs);
    this.#refresh();
    return () => {
      this.#listeners.delete(listener);
      if (this.#listeners.size === 0) this.stop();
      else this.#refresh();
    };
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#version = undefined;
  }

  #refresh(): void {
    const keepAlive = [...this.#listeners.values()].some(Boolean);
    if (keepAlive) this.#timer?.ref();
    else this.#timer?.unref();
  }

  #tick(): void {
    const connection = this.#connection();
    if (!connection) return;
    let kind: ChangeKind | undefined;
    try {
      const version = connection.dataVersion();
      if (this.#version !== undefined && version !== this.#version) kind = "commit";
      this.#version = version;
    } catch {
      return; // closed under us (a reopen): the next tick reads the new connection
    }
    const now = Date.now();
    if (now - this.#lastPeriodic >= PERIODIC_MS) {
      this.#lastPeriodic = now;
      kind ??= "periodic";
    }
    if (kind) for (const listener of [...this.#listeners.keys()]) listener(kind);
  }
}
