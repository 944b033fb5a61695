import { type JobHandle, JobNotFoundError } from "@taskport/core";
import { drizzle } from "drizzle-orm/node-postgres";
import knex from "knex";
import { Kysely, PostgresDialect } from "kysely";
import pg from "pg";
import { fromKysely } from "pg-boss";
import { afterEach, describe, expect, it } from "vitest";
import { OutboxScope } from "./fixture.ts";
import { DATABASE_URL, rowsOf } from "./support.ts";

// The transactions an app's ORM gives it, passed as they are: core's toSqlExecutor (shared with the
// pg-boss adapter) runs the outbox's insert on each one's connection.
let scope: OutboxScope;
afterEach(() => scope.cleanup());

class Rollback extends Error {}

type InTransaction = (work: (transaction: unknown) => Promise<void>) => Promise<void>;

const orms: { name: string; open(scope: OutboxScope): InTransaction }[] = [
  {
    name: "a Kysely trx",
    open(s) {
      const db = kysely();
      s.track({ close: () => db.destroy() });
      return (work) => db.transaction().execute((trx) => work(trx));
    },
  },
  {
    name: "a Knex trx",
    open(s) {
      const db = knex({ client: "pg", connection: { connectionString: DATABASE_URL }, pool: { min: 0, max: 2 } });
      s.track({ close: () => db.destroy() });
      return (work) => db.transaction((trx) => work(trx));
    },
  },
  {
    name: "a Drizzle tx",
    open(s) {
      const pool = new pg.Pool({ connectionString: DATABASE_URL, max: 2 });
      s.track({ close: () => pool.end() });
      const db = drizzle({ client: pool });
      return (work) => db.transaction((tx) => work(tx));
    },
  },
  {
    name: "a pg-boss executor (fromKysely)",
    open(s) {
      const db = kysely();
      s.track({ close: () => db.destroy() });
      return (work) => db.transaction().execute((trx) => work(fromKysely(trx)));
    },
  },
];

function kysely(): Kysely<Record<string, never>> {
  return new Kysely<Record<string, never>>({
    dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: DATABASE_URL, max: 2 }) }),
  });
}

describe.each(orms)("outbox: enqueue inside $name", ({ open }) => {
  it("a transaction that throws leaves no job; one that commits leaves jobs a worker runs once each", async () => {
    scope = new OutboxScope();
    const adapter = scope.adapter();
    const { task, backend, runs } = scope.task(adapter);
    const inTransaction = open(scope);

    let lost: JobHandle<string> | undefined;
    const rollback = new Rollback();
    await expect(
      inTransaction(async (transaction) => {
        lost = await task.enqueue({ n: 0 }, { transaction });
        throw rollback;
      }),
    ).rejects.toBe(rollback);
    expect(await rowsOf(scope.target)).toBe(0);

    let kept: JobHandle<string>[] = [];
    await inTransaction(async (transaction) => {
      kept = await task.enqueueMany([{ n: 1 }, { n: 2 }, { n: 3 }], { transaction });
    });
    expect(await rowsOf(scope.target)).toBe(3);

    await scope.worker({ tasks: [task], backend });
    for (const handle of kept) expect(await handle.wait({ timeoutMs: 10_000 })).toBe(handle.id);
    expect([...runs.entries()].sort()).toEqual(kept.map((handle) => [handle.id, 1]).sort());
    await expect(lost?.refresh()).rejects.toThrow(JobNotFoundError);
    expect(await rowsOf(scope.target)).toBe(0);
  });
});
