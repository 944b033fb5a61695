import type { DatabaseSync } from "node:sqlite";

export interface SqliteAdapterOptions {
  /** The database file (relative to the working directory), or `:memory:`. One of `filename` and `database`. */
  readonly filename?: string;
  /**
   * The app's own open handle, for taskport to share: its tables go in the app's file, and the
   * app's transactions on this handle can enqueue. The adapter never closes it.
   */
  readonly database?: DatabaseSync;
  /** How long a write waits for another connection's lock before failing, in ms. Default 5000. */
  readonly busyTimeoutMs?: number;
  /** How often a worker looks for other processes' commits, in ms. Default 50. */
  readonly pollIntervalMs?: number;
  /**
   * How long a running job is leased to its worker, in ms; the worker extends it every third of that
   * while the job runs. A worker that dies loses its jobs' leases, and they run again. Default 30,000.
   */
  readonly leaseMs?: number;
  /**
   * `normal` (default): a commit survives the process being killed, not the machine losing power.
   * `full`: it survives both, at the cost of a sync to disk per commit.
   */
  readonly synchronous?: "normal" | "full";
  /** Refuse payloads larger than this many bytes of JSON. Default: no limit. */
  readonly maxPayloadBytes?: number;
}

/** What a `sqlite:` URL can set: every option but `database`, with the file named. */
export type UrlOptions = Omit<SqliteAdapterOptions, "database" | "filename"> & { readonly filename: string };
