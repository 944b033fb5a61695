import { execFile } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { Backend, ConnectionError, defineTask, JobFailedError, startWorker, ValidationError, type Worker } from "@taskport/core";
import { afterEach, describe, expect, it } from "vitest";
import type { SqliteConsumer } from "../src/consumer.ts";
import { SqliteAdapter, type SqliteAdapterOptions } from "../src/index.ts";
import { tempFolder, until } from "./support.ts";

const dir = tempFolder("behaviour");
let fileNumber = 0;
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
});

function newFile(): string {
  return join(dir, `test-${++fileNumber}.db`);
}

function backendOn(
  file: string,
  options: Omit<SqliteAdapterOptions, "filename" | "database"> = {},
  retention?: { succeededMs: number; failedMs: number },
): { backend: Backend; adapter: SqliteAdapter } {
  const adapter = new SqliteAdapter({ filename: file, ...options });
  const backend = new Backend(`b${fileNumber}`, retention ? { adapter, retention } : adapter);
  cleanups.push(() => backend.close());
  return { backend, adapter };
}

async function workerOn(backend: Backend, tasks: Parameters<typeof startWorker>[0]["tasks"], concurrency = 5): Promise<Worker> {
  const worker = await startWorker({ tasks, backend, concurrency });
  cleanups.push(() => worker.close({ graceMs: 0 }));
  return worker;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Rows in the job table, deleted ones not counted. */
async function rows(adapter: SqliteAdapter): Promise<number> {
  const db = await adapter.database();
  return Number((db.prepare("SELECT count(*) AS n FROM taskport_jobs").get() as { n: number }).n);
}

describe("sqlite: waking workers", () => {
  it("an enqueue of this process wakes a worker of another adapter on the same file at once, without polling", async () => {
    const file = newFile();
    const producer = backendOn(file).backend;
    const consumer = backendOn(file, { pollIntervalMs: 60_000 }).backend;
    const started: number[] = [];
    const job = defineTask("wake", async () => void started.push(performance.now()), { queue: "wake" });
    await workerOn(consumer, [job.using({ backend: consumer })]);
    await sleep(100);
    const sent = performance.now();
    await job.using({ backend: producer }).enqueue(undefined);
    await until(() => started.length === 1, 5_000, "the job to start");
    expect((started[0] as number) - sent).toBeLessThan(250);
  });

  it("another process's enqueue is found within the poll interval", async () => {
    const file = newFile();
    const { backend } = backendOn(file, { pollIntervalMs: 50 });
    const started: number[] = [];
    const job = defineTask("from-another-process", async (_: { from: number }) => void started.push(Date.now()), { queue: "shared" });
    await workerOn(backend, [job.using({ backend })]);
    const script = fileURLToPath(new URL("./fixtures/enqueue-one.ts", import.meta.url));
    await promisify(execFile)(process.execPath, ["--conditions=@taskport/source", script, file], { timeout: 30_000 });
    const exitedAt = Date.now();
    await until(() => started.length === 1, 5_000, "the other process's job to start");
    expect((started[0] as number) - exitedAt).toBeLessThan(1_000);
  });
});

describe("sqlite: leases and crashes", () => {
  it("a job that outlasts its lease many times keeps it: it runs once, though another worker waits", async () => {
    const file = newFile();
    const first = backendOn(file, { leaseMs: 300 }).backend;
    const second = backendOn(file, { leaseMs: 300 }).backend;
    const runs: number[] = [];
    const job = defineTask(
      "long",
      async (_: unknown, ctx) => {
        runs.push(ctx.attempt);
        await sleep(1_500);
      },
      { queue: "long" },
    );
    await workerOn(first, [job.using({ backend: first })]);
    const handle = await job.using({ backend: first }).enqueue(undefined);
    await until(() => runs.length === 1, 5_000, "the job to start");
    await workerOn(second, [job.using({ backend: second })]);
    await handle.wait({ timeoutMs: 10_000 });
    expect(runs).toEqual([1]);
  });

  it("a job whose worker dies on every start runs its attempts plus one, then is a dead letter (WorkerLostError)", async () => {
    const file = newFile();
    const { backend, adapter } = backendOn(file, { leaseMs: 200 });
    const starts: number[] = [];
    const job = defineTask(
      "deadly",
      async (_: unknown, ctx) => {
        starts.push(ctx.attempt);
        await sleep(60_000);
      },
      { queue: "deadly", retry: { maxAttempts: 2 } },
    );
    const handle = await job.using({ backend }).enqueue(undefined);
    for (let start = 1; start <= 3; start++) {
      const worker = await workerOn(backend, [job.using({ backend })]);
      await until(() => starts.length === start, 5_000, `start ${start}`);
      (worker.consumer as SqliteConsumer).halt(); // dies without a word, as a killed process
    }
    expect(starts).toEqual([1, 2, 3]);
    await workerOn(backend, [job.using({ backend })]); // finds the third lease run out
    const error = await handle.wait({ timeoutMs: 5_000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(JobFailedError);
    expect((error as JobFailedError).error?.name).toBe("WorkerLostError");
    expect((error as JobFailedError).error?.message).toMatch(/on its last attempt \(2 of 2\) and on the extra start/);
    expect((await adapter.listDeadLetters("deadly", 10)).map((letter) => letter.id)).toEqual([handle.id]);
    await sleep(300);
    expect(starts).toEqual([1, 2, 3]);
  });
});

describe("sqlite: transactions", () => {
  it("refuses what is not the app's handle inside a transaction on the adapter's file, and enqueues nothing", async () => {
    const file = newFile();
    const { backend, adapter } = backendOn(file);
    const job = defineTask("tx", async () => {}, { queue: "tx" }).using({ backend });
    const pgLike = { query: async () => ({ rows: [] }) };
    await expect(job.enqueue(undefined, { transaction: pgLike })).rejects.toThrow(
      /transaction must be a DatabaseSync from node:sqlite, got Object/,
    );

    const app = new DatabaseSync(file);
    cleanups.push(async () => app.close());
    await expect(job.enqueue(undefined, { transaction: app })).rejects.toThrow(/not inside a transaction/);

    const elsewhere = new DatabaseSync(newFile());
    cleanups.push(async () => elsewhere.close());
    elsewhere.exec("BEGIN IMMEDIATE");
    const error = await job.enqueue(undefined, { transaction: elsewhere }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as Error).message).toMatch(/is not the adapter's/);
    elsewhere.exec("ROLLBACK");
    expect((await adapter.stats(["tx"]))[0]?.counts.queued).toBe(0);
  });

  it("with the app's handle shared, an enqueue outside the app's open transaction waits for it instead of joining it", async () => {
    const file = newFile();
    const app = new DatabaseSync(file);
    cleanups.push(async () => app.close());
    app.exec("CREATE TABLE orders (id INTEGER PRIMARY KEY)");
    const adapter = new SqliteAdapter({ database: app });
    const backend = new Backend("shared", adapter);
    cleanups.push(() => backend.close());
    const ran: string[] = [];
    const job = defineTask("receipt", async (p: { tag: string }) => void ran.push(p.tag), { queue: "receipts" }).using({ backend });
    await workerOn(backend, [job]);

    app.exec("BEGIN IMMEDIATE");
    app.exec("INSERT INTO orders (id) VALUES (1)");
    await job.enqueue({ tag: "in the transaction" }, { transaction: app });
    let outsideDone = false;
    const outside = job.enqueue({ tag: "another request" }).then(() => {
      outsideDone = true;
    });
    await sleep(200);
    expect(outsideDone).toBe(false); // neither joined the app's transaction nor blocked the event loop
    expect(ran).toEqual([]); // the worker does not claim inside the app's transaction either
    app.exec("ROLLBACK");
    await outside;
    await until(() => ran.length === 1, 5_000, "the job enqueued outside the transaction");
    await sleep(200);
    expect(ran).toEqual(["another request"]);
    expect(app.prepare("SELECT count(*) AS n FROM orders").get()).toEqual({ n: 0 });
  });

  it("an app connection that holds the write lock makes enqueues wait with the event loop running, then fail clearly", async () => {
    const file = newFile();
    const { backend } = backendOn(file, { busyTimeoutMs: 300 });
    const job = defineTask("locked", async () => {}, { queue: "locked" }).using({ backend });
    await job.enqueue(undefined); // opens the file
    const app = new DatabaseSync(file);
    cleanups.push(async () => app.close());
    app.exec("BEGIN IMMEDIATE");
    let ticks = 0;
    const ticker = setInterval(() => ticks++, 10);
    const error = await job.enqueue(undefined).catch((e: unknown) => e);
    clearInterval(ticker);
    app.exec("COMMIT");
    expect(error).toBeInstanceOf(ConnectionError);
    expect((error as Error).message).toMatch(/stayed locked by another connection for 300 ms/);
    expect(ticks).toBeGreaterThan(5);
    await expect(job.enqueue(undefined)).resolves.toBeDefined();
  });
});

describe("sqlite: the file", () => {
  it("is in WAL mode, and its job ids are UUIDs (version 8) that carry the time and the row number", async () => {
    const file = newFile();
    const { backend } = backendOn(file);
    const job = defineTask("ids", async (_: number) => {}, { queue: "ids" }).using({ backend });
    const handles = await job.enqueueMany([1, 2, 3]);
    const ids = handles.map((h) => h.id);
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(ids.map((id) => Number.parseInt(id.slice(24), 16))).toEqual([1, 2, 3]);
    expect(Number.parseInt(ids[0]?.replace("-", "").slice(0, 12) ?? "", 16)).toBeGreaterThan(Date.now() - 60_000);
    const other = new DatabaseSync(file);
    expect(other.prepare("PRAGMA journal_mode").get()).toEqual({ journal_mode: "wal" });
    other.close();
  });

  it("a job is found only by its whole id: a row number reused after its job was deleted holds another id", async () => {
    const { backend, adapter } = backendOn(newFile(), {}, { succeededMs: 1, failedMs: 60_000 });
    const job = defineTask("reused", async (_: number) => {}, { queue: "reused" }).using({ backend });
    const [first] = await job.enqueueMany([1]);
    const worker = await workerOn(backend, [job]);
    let finished = 0;
    worker.on("succeeded", () => finished++);
    await until(() => finished === 1, 5_000, "the first job");
    // The worker writes a finish after its event, in its next batch: sweep until the row is gone
    // (as a worker's own sweep would, a second later).
    let left = -1;
    for (const end = Date.now() + 5_000; left !== 0 && Date.now() < end; await sleep(20)) {
      await adapter.sweep();
      left = await rows(adapter);
    }
    expect(left).toBe(0);
    const [second] = await job.enqueueMany([2]);
    expect(second?.id.slice(24)).toBe(first?.id.slice(24)); // the same row number, the table being empty again
    expect(second?.id).not.toBe(first?.id);
    expect(await adapter.getJob(first?.id as string, "reused")).toBeNull();
    expect(await adapter.cancel(first?.id as string, "reused")).toBe(false);
    expect(await adapter.getJob("not-an-id", "reused")).toBeNull();
  });

  it("one batch with a key twice stores the first job and points the second at it", async () => {
    const { backend } = backendOn(newFile());
    const job = defineTask("dedup", async (_: number) => {}, { queue: "dedup" }).using({ backend });
    const [first, second] = await job.enqueueMany([1, 2], { deduplicationKey: "same" });
    expect(second?.deduplicated).toBe(true);
    expect(second?.id).toBe(first?.id);
  });

  it("retention: a sweep deletes finished jobs past the retention they were enqueued with, and keeps the rest", async () => {
    const file = newFile();
    const { backend, adapter } = backendOn(file, {}, { succeededMs: 1, failedMs: 60_000 });
    const job = defineTask(
      "kept",
      async (p: { fail: boolean }) => {
        if (p.fail) throw new Error("no");
      },
      { queue: "kept" },
    ).using({ backend });
    const ok = await job.enqueue({ fail: false });
    const bad = await job.enqueue({ fail: true });
    const later = await job.enqueue({ fail: false }, { delayMs: 60_000 });
    const worker = await workerOn(backend, [job]);
    let finished = 0;
    worker.on("succeeded", () => finished++);
    worker.on("failed", () => finished++);
    await until(() => finished === 2, 5_000, "both jobs to finish");
    // The worker writes a finish in its next batch, after the event: wait for the row's expiry to be
    // written, then for the clock to pass it.
    const db = await adapter.database();
    const expiry = () => (db.prepare("SELECT expires_at AS at FROM taskport_jobs WHERE id = ?").get(ok.id) as { at: number | null }).at;
    await until(() => expiry() !== null, 5_000, "the finish to be written");
    await sleep(Math.max(0, Number(expiry()) - Date.now()) + 5);
    expect(await adapter.getJob(ok.id, "kept")).toBeNull(); // past its retention it reads as gone at once…
    await adapter.sweep();
    expect(await rows(adapter)).toBe(2); // …and a sweep deletes it
    expect((await adapter.getJob(bad.id, "kept"))?.status).toBe("failed");
    expect((await adapter.getJob(bad.id, "kept"))?.status).toBe("failed");
    expect((await adapter.getJob(later.id, "kept"))?.status).toBe("scheduled");
  });

  it("check() explains a file that is not a database, and one written by a newer version", async () => {
    const garbage = newFile();
    writeFileSync(garbage, "this is not a database, but it is long enough to look like a header ".repeat(10));
    const [notDb] = await new SqliteAdapter({ filename: garbage }).check();
    expect(notDb?.message).toMatch(/^\[taskport\] \[sqlite\] .* is not a usable SQLite database/);

    const newer = newFile();
    const db = new DatabaseSync(newer);
    db.exec(
      "CREATE TABLE taskport_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL); INSERT INTO taskport_meta VALUES ('schema_version', '99')",
    );
    db.close();
    const [tooNew] = await new SqliteAdapter({ filename: newer }).check();
    expect(tooNew?.message).toMatch(/schema version 99, newer than this @taskport\/sqlite understands \(2\)\. Upgrade/);
  });

  it("a file of schema version 1 is upgraded in place: its waiting job runs, its old finished job goes", async () => {
    const file = newFile();
    const old = new DatabaseSync(file);
    old.exec(readFileSync(fileURLToPath(new URL("./fixtures/schema-v1.sql", import.meta.url)), "utf8"));
    const insert = old.prepare(
      `INSERT INTO taskport_jobs (seq, id, queue, name, payload, priority, state, run_at, max_attempts, enqueued_at, finished_at)
       VALUES (?, ?, 'old', 'legacy', '{"n":1}', 0, ?, 0, 1, 0, ?)`,
    );
    insert.run(1, "0193a1b2-c3d4-7001-8abc-0123456789ab", "queued", null);
    insert.run(2, "0193a1b2-c3d4-7002-9def-0123456789ab", "succeeded", Date.now() - 3 * 86_400_000);
    old.close();
    const { backend, adapter } = backendOn(file);
    const ran: number[] = [];
    const legacy = defineTask("legacy", async (p: { n: number }) => void ran.push(p.n), { queue: "old" }).using({ backend });
    await workerOn(backend, [legacy]);
    await until(() => ran.length === 1, 5_000, "the waiting job of the old file");
    const upgraded = "0193a1b2-c3d4-8001-8abc-000000000001"; // the row number in place of the random tail
    expect((await adapter.getJob(upgraded, "old"))?.payload).toEqual({ n: 1 });
    await adapter.sweep();
    expect(await rows(adapter)).toBe(1); // the job that finished three days ago, past a day's retention, is gone
    const db = new DatabaseSync(file);
    expect(db.prepare("SELECT value FROM taskport_meta WHERE key = 'schema_version'").get()).toEqual({ value: "2" });
    expect(db.prepare("SELECT name FROM sqlite_schema WHERE name = 'taskport_jobs_id'").get()).toBeUndefined();
    db.close();
  });

  it("sqlite::memory: runs jobs within one process", async () => {
    const backend = new Backend("memory-file", "sqlite::memory:");
    cleanups.push(() => backend.close());
    const job = defineTask("in-memory", async (p: { n: number }) => p.n * 2, { queue: "mem" }).using({ backend });
    await workerOn(backend, [job]);
    expect(await (await job.enqueue({ n: 21 })).wait({ timeoutMs: 5_000 })).toBe(42);
  });
});
