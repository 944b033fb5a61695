import { runConformance } from "@taskport/conformance";
import { ConfigurationError } from "@taskport/core";
import { afterAll, describe, expect, it } from "vitest";
import { BullMQAdapter } from "../src/index.ts";
import {
  clientNameOf,
  DATABASE_URL,
  HAS_POSTGRES_BACKEND,
  postgresTestAdapter,
  TEST_SCHEMA,
  terminateConnections,
} from "./postgres-support.ts";

/** `url` with its host and port replaced by `address`. */
function viaAddress(url: string, address: string): string {
  const via = new URL(url);
  via.host = address;
  return via.href;
}

let janitor: BullMQAdapter | undefined;
afterAll(async () => {
  await janitor?.close();
});

if (!HAS_POSTGRES_BACKEND) {
  // The run on the oldest BullMQ of the peer range (5.59): no PostgreSQL backend to test, but the
  // adapter must say so rather than fail at import or at the first job.
  describe("bullmq-postgres on a BullMQ without a PostgreSQL backend", () => {
    it("refuses with a ConfigurationError that names the version to install", () => {
      expect(() => postgresTestAdapter("old")).toThrow(ConfigurationError);
      expect(() => postgresTestAdapter("old")).toThrow(/bullmq 6\.7 or newer/);
    });
  });
} else {
  await runConformance({
    name: "bullmq-postgres",
    // Queue names come from the suite's testId, so tests share one schema without meeting another.
    createAdapter: ({ testId }) => postgresTestAdapter(testId),
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
      // PostgreSQL is shared by the whole test run: rather than restart it, this cuts every
      // connection of the running test (its pools' and its workers' LISTEN connections, found by
      // name), as a restart would; node-postgres and BullMQ reconnect.
      async restartServer(testId) {
        const killed = await terminateConnections(clientNameOf(testId));
        if (killed === 0) throw new Error(`no connection named after ${clientNameOf(testId)} to cut`);
      },
      connectVia: {
        engine: { host: new URL(DATABASE_URL).hostname, port: Number(new URL(DATABASE_URL).port || 5432) },
        createAdapter: ({ testId }, address) => postgresTestAdapter(testId, viaAddress(DATABASE_URL, address)),
      },
      unreachableAdapter: () =>
        new BullMQAdapter({ postgres: { connectionString: "postgres://postgres@127.0.0.1:1/test", schema: TEST_SCHEMA } }),
      async cleanup(_testId, queues) {
        janitor ??= postgresTestAdapter("janitor");
        for (const queue of queues) await janitor.destroyQueue(queue);
      },
    },
  });
}
