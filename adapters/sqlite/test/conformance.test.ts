import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { runConformance } from "@taskport/conformance";
import type { Adapter } from "@taskport/core";
import type { SqliteConsumer } from "../src/consumer.ts";
import { SqliteAdapter } from "../src/index.ts";
import { countFromAnotherProcess, removeDatabase, tempFolder } from "./support.ts";

// Each test has a file of its own; the adapters a test creates for one testId share it, as processes would.
const dir = tempFolder("conformance");
const fileOf = (testId: string) => join(dir, `${testId}.db`);
const opened = new Map<string, SqliteAdapter[]>();
const files = new WeakMap<Adapter, string>();

function create(testId: string): SqliteAdapter {
  // A short lease (2 s, extended every 0.7 s while a job runs), so that a crashed worker's job comes back soon.
  const adapter = new SqliteAdapter({ filename: fileOf(testId), leaseMs: 2_000 });
  opened.set(testId, [...(opened.get(testId) ?? []), adapter]);
  files.set(adapter, fileOf(testId));
  return adapter;
}

await runConformance({
  name: "sqlite",
  createAdapter: ({ testId }) => create(testId),
  capabilities: {
    delay: true,
    priority: true,
    results: true,
    cancel: true,
    cancelRunning: true,
    deduplication: "until-finished",
    nativeBulkEnqueue: true,
    transactions: true,
    ordering: "fifo",
    progress: true,
    deadLetter: true,
    crashCountsAsAttempt: true,
    headers: true,
    retention: true,
    stats: true,
    listJobs: true,
    redrive: true,
    discardDeadLetters: true,
    pause: true,
  },
  harness: {
    // A crash writes nothing: the job comes back when its lease runs out, as after a killed process.
    async crash(worker) {
      (worker.consumer as SqliteConsumer).halt();
    },
    // The app's own connection to the file, in a transaction of its own.
    async transaction(adapter, outcome, work) {
      const db = new DatabaseSync(files.get(adapter) as string);
      try {
        db.exec("BEGIN IMMEDIATE");
        await work(db);
        db.exec(outcome === "commit" ? "COMMIT" : "ROLLBACK");
      } finally {
        db.close();
      }
    },
    // An embedded engine's restart: every connection to the file closes (SQLite folds the WAL into
    // the file), a new process finds every job in it, and the adapters open the file again.
    async restartServer(testId) {
      const adapters = opened.get(testId) ?? [];
      const before = await countThrough(adapters[0] as SqliteAdapter);
      await Promise.all(adapters.map((adapter) => adapter.reopen()));
      const found = countFromAnotherProcess(fileOf(testId));
      if (found < before) throw new Error(`a new process found ${found} jobs in the closed file, ${before} were there before`);
    },
    unreachableAdapter: () => new SqliteAdapter({ filename: join(dir, "no-such-folder", "jobs.db") }),
    async cleanup(testId) {
      opened.delete(testId);
      removeDatabase(fileOf(testId));
    },
  },
});

async function countThrough(adapter: SqliteAdapter): Promise<number> {
  const db = await adapter.database();
  return Number((db.prepare("SELECT count(*) AS n FROM taskport_jobs").get() as { n: number }).n);
}
