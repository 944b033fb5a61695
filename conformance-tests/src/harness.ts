import type { Adapter, Capabilities, Worker } from "@taskport/core";

/**
 * What the suite passes to `createAdapter`. Adapters created for the same `testId` must reach the
 * same engine: the suite uses a second one as a second process (competing workers, crash recovery).
 */
export interface AdapterContext {
  /** Unique per test and run: use it for any name the adapter derives (prefixes, schemas). */
  readonly testId: string;
  /**
   * Set only by the long-delay test: the adapter must treat this as its native delay limit (and
   * report it as `capabilities.maxNativeDelayMs`), so delays past the limit are tested in seconds.
   */
  readonly nativeDelayLimitMs?: number;
}

/** What only an adapter's own tests can do. Every member is optional; a missing one skips its test, loudly. */
export interface ConformanceHarness {
  /**
   * Simulate the death of a worker process mid-job. Default: `worker.consumer.abandon()`, which
   * drops the worker's connections without settling anything.
   */
  crash?(worker: Worker): Promise<void>;
  /**
   * Restart the engine's server (or cut every connection of the test `testId` to it, when the
   * server is shared) and resolve once it is back.
   */
  restartServer?(testId: string): Promise<void>;
  /**
   * Run `work` inside a transaction of the engine's database, then commit or roll back.
   * Required when the adapter declares `transactions`.
   */
  transaction?(adapter: Adapter, outcome: "commit" | "rollback", work: (transaction: unknown) => Promise<void>): Promise<void>;
  /**
   * For an engine with an outbox (`withOutbox`): a module whose `createAdapter(context, ...args)`
   * builds the same adapter as the suite's `createAdapter`, so that a child process can run its
   * relay. The suite kills that child with SIGKILL mid-batch and checks that no committed job is
   * lost; without this, that test is not registered.
   */
  relayChild?: { readonly module: string; readonly args?: readonly string[] };
  /**
   * How to reach the engine through a relay the suite controls (`TcpRelay`): the engine's own host
   * and port, and an adapter like `createAdapter`'s whose every connection goes to `address`
   * (`127.0.0.1:<port>`) instead. Enables the networkFaults and blackHole groups; an engine without a network
   * connection (in-process, a file) leaves it out.
   */
  connectVia?: {
    readonly engine: { readonly host?: string; readonly port: number };
    createAdapter(context: AdapterContext, address: string): Adapter | Promise<Adapter>;
  };
  /** An adapter pointed at a server that does not answer (for `check()` and connection errors). */
  unreachableAdapter?(): Adapter | Promise<Adapter>;
  /**
   * Remove what a passed test left on the server (its queues, keys, rows). Not called for a failed
   * test, whose state is kept for debugging.
   */
  cleanup?(testId: string, queues: readonly string[]): Promise<void>;
}

/** Every group of the suite, as named in reports and opt-outs. */
export const GROUPS = [
  "roundTrip",
  "queueIsolation",
  "concurrency",
  "competingWorkers",
  "retries",
  "permanentFailure",
  "timeouts",
  "gracefulShutdown",
  "crashRecovery",
  "crashAttempts",
  "delay",
  "longDelay",
  "priority",
  "results",
  "cancel",
  "deduplication",
  "bulkEnqueue",
  "validation",
  "connection",
  "serviceRestart",
  "events",
  "transactions",
  "progress",
  "fifo",
  "deadLetter",
  "headers",
  "retention",
  "stats",
  "listJobs",
  "redrive",
  "discardDeadLetters",
  "pause",
  "schedules",
  "networkFaults",
  "blackHole",
] as const;

export type GroupName = (typeof GROUPS)[number];

export interface ConformanceOptions {
  /** Engine name, used in test titles and the report file name. */
  readonly name: string;
  readonly createAdapter: (context: AdapterContext) => Adapter | Promise<Adapter>;
  /**
   * The capabilities this adapter is expected to declare. When given, the suite fails if the
   * adapter declares anything else, so a capability cannot be switched off unnoticed.
   */
  readonly capabilities?: Partial<Capabilities>;
  readonly harness?: ConformanceHarness;
  /**
   * Run only these groups (the others are not registered, nor reported). For quick runs and for
   * proving a breaker is caught; a full run leaves it out.
   */
  readonly only?: readonly GroupName[];
  /**
   * A group stops at its first failed test: the rest of it is skipped. For breakers, where one
   * failure is the proof and a failing test mostly waits out its deadline.
   */
  readonly bail?: boolean;
  /** Groups this adapter skips, each with its reason: written at the call site, shown in the report. */
  readonly optOut?: Partial<Record<GroupName, string>>;
  /**
   * Multiplies the suite's "not late" allowances, for engines that poll (default 1). It never
   * loosens "not early", ordering, or counts.
   */
  readonly latencyScale?: number;
  /** Where the JSON report goes. Default: `$TASKPORT_REPORT_DIR` or `conformance-report/` in the cwd. */
  readonly reportDir?: string;
}
