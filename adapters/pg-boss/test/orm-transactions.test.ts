import { randomBytes } from "node:crypto";
import { Backend, defineTask, type JobHandle, JobNotFoundError, startWorker } from "@taskport/core";
import { sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/node-postgres";
import knex from "knex";
import { Kysely, PostgresDialect } from "kysely";
import pg from "pg";
import { fromDrizzle, fromKnex, fromKysely } from "pg-boss";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { PgBossAdapter } from "../src/index.ts";
import { CONFORMANCE_SCHEMA, DATABASE_URL } from "./support.ts";

// The README's ORM one-liners, each run as written against the real server: a transaction that
// throws leaves no job, one that commits leaves a job a worker runs. Queues are unique per test.
const RUN = randomBytes(3).toString("hex");
let counter = 0;
const opened: { close(): Promise<void> }[] = [];
const queues: string[] = [];

type Receipt = { orderId: number };

function names(): { queue: string; app: string } {
  const id = `tpo${RUN}${++counter}`;
  const queue = `${id}-main`;
  queues.push(queue);
  return { queue, app: `tp-${id}` };
}

/** An adapter, and a task on it that records every payload a worker runs. */
function setup() {
  const { queue, app } = names();
  const adapter = new PgBossAdapter({ connectionString: DATABASE_URL, schema: CONFORMANCE_SCHEMA, applicationName: app });
  opened.push(adapter);
  const backend = new Backend("orm", adapter);
  const ran: Receipt[] = [];
  const task = defineTask(
    "receipt",
    async (p: Receipt) => {
      ran.push(p);
    },
    { queue },
  ).using({ backend });
  return { queue, app, adapter, backend, task, ran };
}

type Setup = ReturnType<typeof setup>;

// Each ORM gets its own pool, as an application's would: the job must travel on the ORM's connection.
function kyselyDb(app: string): Kysely<Record<string, never>> {
  const db = new Kysely<Record<string, never>>({
    dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: DATABASE_URL, application_name: app, max: 2 }) }),
  });
  opened.push({ close: () => db.destroy() });
  return db;
}

function drizzleDb(app: string) {
  const pool = new pg.Pool({ connectionString: DATABASE_URL, application_name: app, max: 2 });
  opened.push({ close: () => pool.end() });
  return drizzle({ client: pool });
}

function knexDb(app: string) {
  const db = knex({ client: "pg", connection: { connectionString: DATABASE_URL, application_name: app }, pool: { min: 0, max: 2 } });
  opened.push({ close: () => db.destroy() });
  return db;
}

/**
 * Thrown inside the transaction callback to roll it back. The test expects exactly this error back:
 * an enqueue that failed would roll back too, and leave no job for the wrong reason.
 */
class Rollback extends Error {}

/** Rows for `queue` in pg-boss's job table, read outside any transaction. */
async function jobsIn(adapter: PgBossAdapter, queue: string): Promise<number> {
  const { rows } = await (await adapter.pgBoss())
    .getDb()
    .executeSql(`SELECT count(*)::int AS n FROM ${CONFORMANCE_SCHEMA}.job WHERE name = $1`, [queue]);
  return (rows[0] as { n: number }).n;
}

/** The enqueue inside the rolled-back transaction did succeed (it returned a handle), yet no job is left. */
async function expectNoJob(s: Setup, handle: JobHandle<void> | undefined): Promise<void> {
  expect(handle?.id).toBeTypeOf("string");
  await expect(handle?.refresh()).rejects.toThrow(JobNotFoundError);
  expect(await jobsIn(s.adapter, s.queue)).toBe(0);
}

/** The committed job is stored, and a worker runs it with its payload. */
async function expectJobRuns(s: Setup, handle: JobHandle<void>, payload: Receipt): Promise<void> {
  expect((await handle.refresh()).status).toBe("queued");
  expect(await jobsIn(s.adapter, s.queue)).toBe(1);
  const w = await startWorker({ tasks: [s.task], backend: s.backend });
  opened.push({ close: () => w.close({ graceMs: 0 }) });
  await handle.wait({ timeoutMs: 10_000 });
  expect(s.ran).toEqual([payload]);
}

afterEach(async () => {
  for (const item of opened.splice(0).reverse()) await item.close().catch(() => {});
});

afterAll(async () => {
  const janitor = new PgBossAdapter({ connectionString: DATABASE_URL, schema: CONFORMANCE_SCHEMA, applicationName: "tp-janitor-orm" });
  const boss = await janitor.pgBoss();
  for (const queue of queues) if (await boss.getQueue(queue)) await boss.deleteQueue(queue);
  await janitor.close();
});

/**
 * Each ORM's transaction, opening it the way the README's one-liner does and handing the work the
 * pg-boss executor made from it. fromDrizzle takes drizzle's `sql` tag as its second argument
 * (pg-boss builds its statements with it instead of depending on drizzle-orm); without it every
 * enqueue is a TypeError.
 */
const orms: { name: string; inTransaction<T>(app: string, work: (executor: unknown) => Promise<T>): Promise<T> }[] = [
  {
    name: "Kysely (fromKysely)",
    inTransaction: (app, work) =>
      kyselyDb(app)
        .transaction()
        .execute((trx) => work(fromKysely(trx))),
  },
  {
    name: "Drizzle on node-postgres (fromDrizzle)",
    inTransaction: (app, work) => drizzleDb(app).transaction((tx) => work(fromDrizzle(tx, sql))),
  },
  { name: "Knex (fromKnex)", inTransaction: (app, work) => knexDb(app).transaction((trx) => work(fromKnex(trx))) },
  // The same transactions passed as they are: core's toSqlExecutor, which the outbox shares, adapts them.
  {
    name: "a Kysely trx as it is",
    inTransaction: (app, work) =>
      kyselyDb(app)
        .transaction()
        .execute((trx) => work(trx)),
  },
  { name: "a Drizzle tx as it is", inTransaction: (app, work) => drizzleDb(app).transaction((tx) => work(tx)) },
  { name: "a Knex trx as it is", inTransaction: (app, work) => knexDb(app).transaction((trx) => work(trx)) },
];

describe.each(orms)("pg-boss adapter: transactional enqueue through $name", ({ inTransaction }) => {
  it("a transaction that throws leaves no job", async () => {
    const s = setup();
    const payload = { orderId: 1 };
    let handle: JobHandle<void> | undefined;
    const rollback = new Rollback();
    await expect(
      inTransaction(s.app, async (transaction) => {
        handle = await s.task.enqueue(payload, { transaction });
        throw rollback;
      }),
    ).rejects.toBe(rollback);
    await expectNoJob(s, handle);
  });

  it("a transaction that commits leaves a job a worker runs", async () => {
    const s = setup();
    const payload = { orderId: 2 };
    const handle = await inTransaction(s.app, (transaction) => s.task.enqueue(payload, { transaction }));
    await expectJobRuns(s, handle, payload);
  });
});
