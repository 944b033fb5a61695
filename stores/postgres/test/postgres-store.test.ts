import { randomUUID } from "node:crypto";
import { ConfigurationError, DeadlineError, type JobChange, type NewJob } from "@taskport/core";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { PostgresStore, SCHEMA_VERSION } from "../src/index.ts";
import { admin, DATABASE_URL, dropSchema, storeIn, terminateConnections } from "./support.ts";

const schemas: string[] = [];
const stores: PostgresStore[] = [];
afterAll(async () => {
  await Promise.allSettled(stores.map((store) => store.close()));
  await Promise.allSettled(schemas.map(dropSchema));
});

function freshSchema(): string {
  const schema = `tpst${randomUUID().replaceAll("-", "").slice(0, 12)}`;
  schemas.push(schema);
  return schema;
}

function open(schema: string, options: { applicationName?: string } = {}): PostgresStore {
  const store = storeIn(schema, options);
  stores.push(store);
  return store;
}

function job(overrides: Partial<NewJob> = {}): NewJob {
  return {
    id: randomUUID(),
    name: "task",
    queue: "q",
    payload: null,
    payloadJson: "null",
    priority: 0,
    maxAttempts: 1,
    enqueuedAt: Date.now(),
    ...overrides,
  };
}

const start = (j: NewJob) => ({ id: j.id, name: j.name, queue: j.queue, attempt: 1, maxAttempts: j.maxAttempts });

describe("postgres-store schema", () => {
  it("is created once when many stores use a new schema at the same time", async () => {
    const schema = freshSchema();
    const racing = Array.from({ length: 6 }, () => open(schema));
    const receipts = await Promise.all(racing.map((store) => store.record([job()], 60_000)));
    expect(receipts.flat()).toHaveLength(6);
    const versions = await admin(async (client) => (await client.query(`SELECT version FROM "${schema}".schema_version`)).rows);
    expect(versions).toEqual(Array.from({ length: SCHEMA_VERSION }, (_, i) => ({ version: i + 1 })));
  });

  it("written by version 1, is upgraded on first use, and its records are listed and counted", async () => {
    const schema = freshSchema();
    const [old, newer] = [job(), job()];
    await open(schema).record([old, newer], 60_000);
    // Back to version 1: the table without the inspection column and index.
    await admin((client) =>
      client.query(`ALTER TABLE "${schema}".jobs DROP COLUMN seq; DELETE FROM "${schema}".schema_version WHERE version > 1`),
    );
    const upgraded = open(schema);
    const added = job();
    await upgraded.record([added], 60_000);
    const versions = await admin(async (client) => (await client.query(`SELECT version FROM "${schema}".schema_version`)).rows);
    expect(versions.map((row) => row.version)).toEqual([1, 2]);
    const listed = (await upgraded.listJobs("q", { limit: 10 })).jobs.map((j) => j.id);
    expect(listed[0]).toBe(added.id);
    expect(listed.slice(1).sort()).toEqual([old.id, newer.id].sort());
    expect((await upgraded.stats(["q"]))[0]?.counts.queued).toBe(3);
  });

  it("written by a newer package, is refused with a ConfigurationError, and check() says so", async () => {
    const schema = freshSchema();
    await open(schema).record([job()], 60_000);
    await admin((client) => client.query(`INSERT INTO "${schema}".schema_version (version) VALUES ($1)`, [SCHEMA_VERSION + 1]));
    const later = open(schema);
    const error = await later.get(randomUUID()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as Error).message).toMatch(/newer @taskport\/postgres-store/);
    expect((await later.check())[0]?.message).toMatch(/newer @taskport\/postgres-store/);
  });

  it("keeps JSON byte for byte: key order, unicode escapes, U+0000", async () => {
    const store = open(freshSchema());
    const payloadJson = '{"z":1,"a":{"y":[3,2,1],"b":"\\u0000\\ud83d\\ude00"}}';
    const j = job({ payloadJson });
    await store.record([j], 60_000);
    await store.begin([start(j)]);
    await store.settle([{ id: j.id, status: "succeeded", resultJson: payloadJson }]);
    const row = await admin(
      async (client) => (await client.query(`SELECT payload, result FROM "${store.schema}".jobs WHERE id = $1`, [j.id])).rows[0],
    );
    expect(row).toEqual({ payload: payloadJson, result: payloadJson });
  });
});

describe("postgres-store deduplication", () => {
  it("racing enqueues of one job under its own id and key (every worker enqueues a schedule's tick) claim it once", async () => {
    const schema = freshSchema();
    const [a, b] = [open(schema), open(schema)];
    for (let round = 0; round < 5; round++) {
      const tick = job({ deduplicationKey: `tick-${round}` });
      const receipts = (await Promise.all(Array.from({ length: 8 }, (_, i) => (i % 2 ? a : b).record([tick], 60_000)))).flat();
      expect(receipts.filter((r) => !r.deduplicated)).toEqual([{ id: tick.id }]);
      expect(receipts.every((r) => r.id === tick.id)).toBe(true);
    }
  });

  it("a job enqueued again under its own id after it finished is that job, not a second run", async () => {
    const store = open(freshSchema());
    const tick = job({ deduplicationKey: "tick" });
    await store.record([tick], 60_000);
    await store.begin([start(tick)]);
    await store.settle([{ id: tick.id, status: "succeeded", resultJson: "1" }]);
    expect(await store.record([tick], 60_000)).toEqual([{ id: tick.id, deduplicated: true }]);
    expect(await store.get(tick.id)).toMatchObject({ status: "succeeded" });
  });

  it("a job enqueued again under its own id after its claim ran out is claimed afresh", async () => {
    const store = open(freshSchema());
    const tick = job({ deduplicationKey: "tick" });
    await store.record([tick], 100); // the enqueue died before the engine had it
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await store.record([tick], 60_000)).toEqual([{ id: tick.id }]);
    expect(await store.get(tick.id)).toMatchObject({ status: "queued" });
  });
});

describe("postgres-store connections", () => {
  it("every statement has a deadline: one blocked by a lock fails with a DeadlineError after queryTimeoutMs", async () => {
    const schema = freshSchema();
    await open(schema).record([job()], 60_000);
    const url = new URL(DATABASE_URL);
    url.searchParams.set("schema", schema);
    url.searchParams.set("queryTimeoutMs", "300");
    const impatient = new PostgresStore({ url });
    stores.push(impatient);
    await impatient.get(randomUUID()); // the schema is known: only the blocked statement is timed below
    const locker = new pg.Client({ connectionString: DATABASE_URL });
    await locker.connect();
    try {
      await locker.query("BEGIN");
      await locker.query(`LOCK TABLE "${schema}".jobs IN ACCESS EXCLUSIVE MODE`);
      const started = Date.now();
      const error = await impatient.get(randomUUID()).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DeadlineError);
      expect((error as Error).message).toMatch(/a job store statement at .* got no answer within 300 ms/);
      expect(Date.now() - started).toBeLessThan(3_000);
    } finally {
      await locker.query("ROLLBACK");
      await locker.end();
    }
  });

  it("runs on the application's own pool, and leaves it open when closed", async () => {
    const pool = new pg.Pool({ connectionString: DATABASE_URL, max: 3 });
    try {
      const store = new PostgresStore({ pool, schema: freshSchema() });
      const changes: JobChange[] = [];
      const stop = await store.watch((change) => changes.push(change));
      const j = job();
      await store.record([j], 60_000);
      await store.begin([start(j)]);
      await store.settle([{ id: j.id, status: "succeeded", resultJson: "7" }]);
      expect(await store.get(j.id)).toMatchObject({ status: "succeeded", result: 7 });
      await expect.poll(() => changes.some((c) => c.id === j.id && c.status === "succeeded")).toBe(true);
      await stop();
      await store.close();
      expect((await pool.query("SELECT 1 AS one")).rows).toEqual([{ one: 1 }]);
    } finally {
      await pool.end();
    }
  });

  it("listens again after its LISTEN connection was cut, and watchers hear later changes", async () => {
    const schema = freshSchema();
    const name = `tp-listen-${randomUUID().slice(0, 8)}`;
    const watcher = open(schema, { applicationName: name });
    const writer = open(schema);
    const changes: JobChange[] = [];
    const stop = await watcher.watch((change) => changes.push(change));
    try {
      expect(await terminateConnections(name)).toBeGreaterThan(0);
      const j = job();
      await writer.record([j], 60_000);
      await writer.begin([start(j)]);
      // Changes made while the listener is away are not replayed: settle until one is heard.
      const deadline = Date.now() + 10_000;
      let other: NewJob | undefined;
      while (!changes.some((c) => c.id === other?.id) && Date.now() < deadline) {
        other = job();
        await writer.record([other], 60_000);
        await writer.begin([start(other)]);
        await writer.settle([{ id: other.id, status: "succeeded", resultJson: "null" }]);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      expect(changes.some((c) => c.id === other?.id && c.status === "succeeded")).toBe(true);
    } finally {
      await stop();
    }
  });
});

describe("postgres-store cancels", () => {
  it("a cancel asked for while the LISTEN connection was cut is reported once it listens again", async () => {
    const schema = freshSchema();
    const name = `tp-cut-${randomUUID().slice(0, 8)}`;
    const watcher = open(schema, { applicationName: name });
    const other = open(schema);
    const j = job();
    await other.record([j], 60_000);
    await other.begin([start(j)]);
    const changes: JobChange[] = [];
    const stop = await watcher.watch((change) => changes.push(change));
    try {
      expect(await terminateConnections(name)).toBeGreaterThan(0);
      // Asked at once: the listener waits before it connects again, so only the replay can tell it.
      expect(await other.cancel(j.id)).toBe("requested");
      await expect.poll(() => changes.some((c) => c.id === j.id && c.cancelRequested), { timeout: 5_000 }).toBe(true);
    } finally {
      await stop();
    }
  });

  it("a job whose cancel was asked for while it ran, delivered again after its worker died, ends cancelled without running", async () => {
    const schema = freshSchema();
    const [store, other] = [open(schema), open(schema)];
    const changes: JobChange[] = [];
    const stop = await other.watch((change) => changes.push(change));
    try {
      const j = job();
      await store.record([j], 60_000);
      await store.begin([start(j)]);
      expect(await other.cancel(j.id)).toBe("requested");
      const [decision] = await store.begin([start(j)]);
      expect(decision).toMatchObject({ run: false, info: { status: "cancelled", attempt: 1 } });
      expect(await other.get(j.id)).toMatchObject({ status: "cancelled" });
      await expect.poll(() => changes.some((c) => c.id === j.id && c.status === "cancelled")).toBe(true);
    } finally {
      await stop();
    }
  });
});

describe("postgres-store retention", () => {
  it("sweeps finished jobs in bounded chunks until none is left past its retention", async () => {
    const store = open(freshSchema());
    const jobs = Array.from({ length: 2_500 }, () => job());
    await store.record(jobs, 60_000);
    await store.begin(jobs.map(start));
    await store.settle(jobs.map((j) => ({ id: j.id, status: "succeeded" as const, resultJson: "null" })));
    const kept = job();
    await store.record([kept], 60_000);
    await store.confirm([kept.id]);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await store.sweep({ succeededMs: 10, failedMs: 10 })).toBe(2_500);
    expect(await store.get(jobs[0]?.id as string)).toBeNull();
    expect(await store.get(kept.id)).toMatchObject({ status: "queued" });
    expect(await store.sweep({ succeededMs: 10, failedMs: 10 })).toBe(0);
  });
});
