import { runConformance } from "@taskport/conformance";
import { afterAll } from "vitest";
import type { BullMQAdapter } from "../src/index.ts";

/** What differs between BullMQ's two stores in the conformance run: how to reach the server and cut a test's connections. */
export interface BullMQStoreHarness {
  /** The suite's name for the run: "bullmq", "bullmq-postgres". */
  readonly name: string;
  /** A test's adapter; with `address` (`127.0.0.1:<port>`), one whose every connection goes there instead. */
  adapter(testId: string, address?: string): BullMQAdapter;
  /** The server's own host and port, for the suite's relay. */
  readonly engine: { readonly host: string; readonly port: number };
  /**
   * The server is shared by the whole test run, so a "restart" cuts every connection of the running
   * test (found by its name, never by type or address) and the clients reconnect. Resolves to how
   * many were cut.
   */
  cutConnections(testId: string): Promise<number>;
  unreachableAdapter(): BullMQAdapter;
}

/** The conformance run of BullMQ on one store: the same capabilities and cleanup on Redis and on PostgreSQL. */
export async function runBullMQConformance(store: BullMQStoreHarness): Promise<void> {
  let janitor: BullMQAdapter | undefined;
  afterAll(async () => {
    await janitor?.close();
  });
  await runConformance({
    name: store.name,
    // Queue names come from the suite's testId, so tests share one prefix (or schema) without meeting another.
    createAdapter: ({ testId }) => store.adapter(testId),
    capabilities: {
      delay: true,
      priority: true,
      results: true,
      cancel: true,
      deduplication: "until-finished",
      retention: true,
      nativeBulkEnqueue: true,
      transactions: false,
      ordering: "fifo",
      progress: true,
      deadLetter: true,
      crashCountsAsAttempt: true,
      stats: true,
      listJobs: true,
      redrive: true,
      discardDeadLetters: true,
      pause: true,
    },
    harness: {
      async restartServer(testId) {
        if ((await store.cutConnections(testId)) === 0) throw new Error(`no connection of test ${testId} to cut`);
      },
      connectVia: {
        engine: store.engine,
        createAdapter: ({ testId }, address) => store.adapter(testId, address),
      },
      unreachableAdapter: () => store.unreachableAdapter(),
      async cleanup(_testId, queues) {
        janitor ??= store.adapter("janitor");
        for (const queue of queues) await janitor.destroyQueue(queue);
      },
    },
  });
}
