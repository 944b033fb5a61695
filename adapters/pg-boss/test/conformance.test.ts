import { runConformance } from "@taskport/conformance";
import { afterAll } from "vitest";
import { PgBossAdapter } from "../src/index.ts";
import { CONFORMANCE_SCHEMA, DATABASE_URL, inTransaction, restartPostgres } from "./support.ts";

// Queue names come from the suite's testId, so every test shares one schema without meeting another.
// Maintenance every second, so the retention group sees finished jobs deleted within seconds.
const create = (testId: string, connectionString = DATABASE_URL) =>
  new PgBossAdapter({ connectionString, schema: CONFORMANCE_SCHEMA, applicationName: `tp-${testId}`, maintenanceIntervalSeconds: 1 });

/** `url` with its host and port replaced by `address`. */
function viaAddress(url: string, address: string): string {
  const via = new URL(url);
  via.host = address;
  return via.href;
}

let janitor: PgBossAdapter | undefined;
afterAll(async () => {
  await janitor?.close();
});

await runConformance({
  name: "pg-boss",
  createAdapter: ({ testId }) => create(testId),
  capabilities: {
    delay: true,
    priority: true,
    results: true,
    cancel: true,
    deduplication: "until-finished",
    retention: true,
    nativeBulkEnqueue: true,
    transactions: true,
    ordering: "fifo",
    progress: false,
    deadLetter: true,
    crashCountsAsAttempt: true,
    stats: true,
    listJobs: true,
    redrive: true,
    discardDeadLetters: true,
    pause: false,
  },
  harness: {
    transaction: inTransaction,
    restartServer: restartPostgres,
    connectVia: {
      engine: { host: new URL(DATABASE_URL).hostname, port: Number(new URL(DATABASE_URL).port || 5432) },
      createAdapter: ({ testId }, address) => create(testId, viaAddress(DATABASE_URL, address)),
    },
    unreachableAdapter: () => new PgBossAdapter({ connectionString: "postgres://postgres@127.0.0.1:1/test", schema: CONFORMANCE_SCHEMA }),
    async cleanup(_testId, queues) {
      janitor ??= create("janitor");
      const boss = await janitor.pgBoss();
      for (const queue of queues) if (await boss.getQueue(queue)) await boss.deleteQueue(queue);
    },
  },
});
