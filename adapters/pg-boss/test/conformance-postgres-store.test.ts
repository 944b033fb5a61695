import { runConformance } from "@taskport/conformance";
import { withJobStore } from "@taskport/core";
import { afterAll } from "vitest";
import { conformanceStore, dropConformanceStore } from "../../../stores/postgres/test/support.ts";
import { PgBossAdapter } from "../src/index.ts";
import { CONFORMANCE_SCHEMA, DATABASE_URL, inTransaction } from "./support.ts";

// pg-boss with a PostgreSQL job store beside it: pg-boss keeps results, status, cancel and
// deduplication itself, so the store gives it progress alone. Queue names come from the suite's
// testId, so every test shares pg-boss's conformance schema; each test's store has its own.
// Maintenance every second, so the retention group sees finished jobs deleted within seconds.
const engine = (testId: string) =>
  new PgBossAdapter({
    connectionString: DATABASE_URL,
    schema: CONFORMANCE_SCHEMA,
    applicationName: `tp-${testId}`,
    maintenanceIntervalSeconds: 1,
  });

let janitor: PgBossAdapter | undefined;
const spareStore = `unreachable${process.pid}`;
afterAll(async () => {
  await janitor?.close();
  await dropConformanceStore(spareStore);
});

await runConformance({
  name: "pg-boss+postgres",
  createAdapter: ({ testId }) => withJobStore(engine(testId), conformanceStore(testId)),
  capabilities: {
    results: true,
    cancel: true,
    deduplication: "until-finished",
    transactions: true,
    progress: true,
    retention: true,
  },
  optOut: {
    serviceRestart:
      "the server's restart is covered by the pg-boss run; a second restart from this file would cut into that run's tests, which run at the same time",
    networkFaults: "the engine's connections are faulted by its own run; a silent store by stores/postgres/test",
    blackHole: "the engine's connections are faulted by its own run; a silent store by stores/postgres/test",
  },
  harness: {
    transaction: inTransaction,
    unreachableAdapter: () =>
      withJobStore(
        new PgBossAdapter({ connectionString: "postgres://postgres@127.0.0.1:1/test", schema: CONFORMANCE_SCHEMA }),
        conformanceStore(spareStore),
      ),
    async cleanup(testId, queues) {
      janitor ??= engine("janitor");
      const boss = await janitor.pgBoss();
      for (const queue of queues) if (await boss.getQueue(queue)) await boss.deleteQueue(queue);
      await dropConformanceStore(testId);
    },
  },
});
