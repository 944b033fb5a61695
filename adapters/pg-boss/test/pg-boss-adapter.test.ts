import { randomBytes } from "node:crypto";
import { Backend, ConfigurationError, ConnectionError, defineTask, startWorker, type Worker } from "@taskport/core";
import pg from "pg";
import { PgBoss } from "pg-boss";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { PgBossAdapter } from "../src/index.ts";
import { CONFORMANCE_SCHEMA, DATABASE_URL, terminateConnections } from "./support.ts";

// Adapter-specific behaviour, in the conformance suite's schema: queues are unique per test.
const RUN = randomBytes(3).toString("hex");
let counter = 0;
const opened: { close(): Promise<void> }[] = [];
const queues: string[] = [];

function names(): { queue: string; app: string } {
  const id = `tpx${RUN}${++counter}`;
  const queue = `${id}-main`;
  queues.push(queue);
  return { queue, app: `tp-${id}` };
}

function adapter(applicationName: string, extra: Partial<ConstructorParameters<typeof PgBossAdapter>[0]> = {}): PgBossAdapter {
  const a = new PgBossAdapter({ connectionString: DATABASE_URL, schema: CONFORMANCE_SCHEMA, applicationName, ...extra });
  opened.push(a);
  return a;
}

function worker(options: Parameters<typeof startWorker>[0]): Promise<Worker> {
  return startWorker(options).then((w) => {
    opened.push({ close: () => w.close({ graceMs: 0 }) });
    return w;
  });
}

async function until(condition: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

afterEach(async () => {
  for (const item of opened.splice(0).reverse()) await item.close().catch(() => {});
});

afterAll(async () => {
  const janitor = adapter("tp-janitor-x");
  const boss = await janitor.pgBoss();
  for (const queue of queues) if (await boss.getQueue(queue)) await boss.deleteQueue(queue);
  await janitor.close();
});

describe("pg-boss adapter: bad configuration and check()", () => {
  it("an unknown user: check() explains, enqueue fails with ConnectionError, no password anywhere", async () => {
    const a = new PgBossAdapter({
      connectionString: "postgres://no_such_user_tp:hunter2pw@127.0.0.1:5432/test",
      schema: CONFORMANCE_SCHEMA,
    });
    opened.push(a);
    const problems = await a.check();
    expect(problems).toHaveLength(1);
    expect(problems[0]?.message).toMatch(/^\[taskport\] \[pg-boss\] .*refused the login.*Check the user and password/);
    expect(problems[0]?.message).not.toContain("hunter2pw");
    const task = defineTask("job", async () => {}, { queue: "tpx-never" }).using({ backend: new Backend("bad", a) });
    const error = await task.enqueue(undefined).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectionError);
    expect(String((error as Error).message)).not.toContain("hunter2pw");
  });

  it("a database that does not exist is a ConfigurationError saying what to do", async () => {
    const a = new PgBossAdapter({ connectionString: "postgres://postgres@127.0.0.1:5432/tp_no_such_db", schema: CONFORMANCE_SCHEMA });
    opened.push(a);
    const [problem] = await a.check();
    expect(problem?.message).toMatch(/does not exist.*createdb/);
  });

  it("a user without permission to create the schema is told so by check()", async () => {
    const role = `tp_noperm_${RUN}`;
    const admin = new pg.Client({ connectionString: DATABASE_URL });
    await admin.connect();
    try {
      await admin.query(`CREATE ROLE ${role} LOGIN`);
      // PostgreSQL grants CREATE on a database to its owner only: this role may connect, not create.
      const a = new PgBossAdapter({ connectionString: `postgres://${role}@127.0.0.1:5432/test`, schema: `tp_denied_${RUN}` });
      opened.push(a);
      const [problem] = await a.check();
      expect(problem?.message).toMatch(/^\[taskport\] \[pg-boss\] this user may not create or change the schema "tp_denied_/);
      expect(problem?.message).toMatch(/GRANT CREATE/);
      await a.close();
    } finally {
      await admin.query(`DROP ROLE IF EXISTS ${role}`);
      await admin.end();
    }
  });

  it("a schema installed by a newer pg-boss is reported as a version mismatch", async () => {
    const schema = `tp_future_${RUN}`;
    const admin = new pg.Client({ connectionString: DATABASE_URL });
    await admin.connect();
    try {
      await admin.query(`CREATE SCHEMA ${schema}`);
      await admin.query(
        `CREATE TABLE ${schema}.version (version int primary key, maintained_on timestamptz, cron_on timestamptz, monitored_on timestamptz)`,
      );
      await admin.query(`INSERT INTO ${schema}.version (version) VALUES (9999)`);
      const a = new PgBossAdapter({ connectionString: DATABASE_URL, schema });
      opened.push(a);
      const [problem] = await a.check();
      expect(problem?.message).toMatch(/^\[taskport\] \[pg-boss\] /);
      expect(problem?.message).toMatch(/version/i);
      await a.close();
    } finally {
      await admin.query(`DROP SCHEMA ${schema} CASCADE`);
      await admin.end();
    }
  });

  it("a transaction that is neither a pg client nor an executor is refused, nothing enqueued", async () => {
    const { queue, app } = names();
    const a = adapter(app);
    const backend = new Backend("t", a);
    const task = defineTask("job", async () => {}, { queue }).using({ backend });
    await expect(task.enqueue(undefined, { transaction: { not: "a client" } })).rejects.toThrow(/transaction must be a pg client/);
    expect(await (await a.pgBoss()).getQueue(queue).then((q) => q?.queuedCount ?? 0)).toBe(0);
  });

  it("a schema name that is not an identifier is refused before anything connects", () => {
    expect(() => new PgBossAdapter({ connectionString: DATABASE_URL, schema: "x; drop table job" })).toThrow(ConfigurationError);
  });
});

describe("pg-boss adapter: at-least-once", () => {
  it("a worker whose connections are terminated mid-job, and which dies, has its job delivered again with the attempt counted", async () => {
    const { queue, app } = names();
    const doomedAdapter = adapter(app);
    const attempts: number[] = [];
    let hold = true;
    const task = defineTask(
      "job",
      async (_: unknown, ctx) => {
        attempts.push(ctx.attempt);
        while (hold && attempts.length === 1) await new Promise((resolve) => setTimeout(resolve, 50));
      },
      { queue },
    );
    const doomed = await worker({ tasks: [task], backend: new Backend("doomed", doomedAdapter) });
    doomed.on("error", () => {});
    await task.using({ backend: new Backend("doomed", doomedAdapter) }).enqueue(undefined);
    await until(() => attempts.length === 1, 10_000, "the first delivery");
    expect(await terminateConnections(app)).toBeGreaterThan(0);
    await doomed.consumer?.abandon();
    hold = false;
    const survivor = adapter(`${app}-b`);
    await worker({ tasks: [task], backend: new Backend("survivor", survivor) });
    await until(() => attempts.length === 2, 60_000, "the redelivery");
    expect(attempts).toEqual([1, 2]);
  }, 90_000);

  it("a live worker whose connections are terminated reports errors, finishes its job once and keeps working", async () => {
    const { queue, app } = names();
    const a = adapter(app);
    const backend = new Backend("w", a);
    const done: number[] = [];
    let release = false;
    const task = defineTask(
      "job",
      async (p: { n: number }) => {
        while (!release && p.n === 1) await new Promise((resolve) => setTimeout(resolve, 20));
        done.push(p.n);
      },
      { queue },
    ).using({ backend });
    const w = await worker({ tasks: [task], backend });
    w.on("error", () => {});
    await task.enqueue({ n: 1 });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await terminateConnections(app)).toBeGreaterThan(0);
    release = true;
    await until(() => done.length === 1, 15_000, "the running job to finish");
    await task.enqueue({ n: 2 });
    await until(() => done.length === 2, 15_000, "a job enqueued after the connections were cut");
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(done).toEqual([1, 2]);
  });
});

describe("pg-boss adapter: shutdown, interop, given pools", () => {
  it("while a worker drains, the producer on the same adapter keeps enqueueing", async () => {
    const { queue, app } = names();
    const a = adapter(app);
    const backend = new Backend("w", a);
    const started: number[] = [];
    const task = defineTask(
      "job",
      async (p: { n: number }) => {
        started.push(p.n);
        await new Promise((resolve) => setTimeout(resolve, 400));
      },
      { queue },
    ).using({ backend });
    const w = await worker({ tasks: [task], backend });
    await task.enqueue({ n: 1 });
    await until(() => started.length === 1, 10_000, "the first job");
    const closing = w.close({ graceMs: 10_000 });
    const handle = await task.enqueue({ n: 2 });
    expect((await handle.refresh()).status).toBe("queued");
    await closing;
    expect(started).toEqual([1]);
    expect((await handle.refresh()).status).toBe("queued");
  });

  it("a job sent with plain pg-boss in taskport's data format runs, and taskport's jobs read back in plain pg-boss", async () => {
    const { queue, app } = names();
    const a = adapter(app);
    const backend = new Backend("w", a);
    const seen: unknown[] = [];
    const task = defineTask(
      "interop",
      async (p: { from: string }) => {
        seen.push(p);
        return { ok: true };
      },
      { queue },
    ).using({ backend });
    const mine = await task.enqueue({ from: "taskport" });
    const boss = await a.pgBoss();
    const stored = await boss.getJobById<{ task: string; payloadJson: string }>(queue, mine.id);
    expect(stored?.data).toMatchObject({ task: "interop", payloadJson: '{"from":"taskport"}', maxAttempts: 1 });
    const foreignId = await boss.send(queue, {
      task: "interop",
      payload: { from: "plain pg-boss" },
      maxAttempts: 1,
      enqueuedAt: Date.now(),
    });
    await worker({ tasks: [task], backend });
    await until(() => seen.length === 2, 10_000, "both jobs");
    expect(seen).toContainEqual({ from: "plain pg-boss" });
    const info = await backend.getJob(foreignId as string, queue);
    expect(info?.name).toBe("interop");
  });

  it("a job stored by an earlier version, payload and result as JSON instead of JSON text, reads back", async () => {
    const { queue, app } = names();
    const a = adapter(app);
    const backend = new Backend("w", a);
    const boss = await a.pgBoss();
    await boss.createQueue(queue);
    const id = (await boss.send(queue, { task: "old", payload: { n: 1 }, maxAttempts: 1, enqueuedAt: Date.now() })) as string;
    expect(await backend.getJob(id, queue)).toMatchObject({ status: "queued", payload: { n: 1 } });
    const [fetched] = await boss.fetch(queue, { batchSize: 1 });
    expect(fetched?.id).toBe(id);
    await boss.complete(queue, id, { result: { square: 1 } });
    expect(await backend.getJob(id, queue)).toMatchObject({ status: "succeeded", payload: { n: 1 }, result: { square: 1 } });
  });

  it("an error text jsonb cannot hold (U+0000, a lone surrogate) is stored with U+FFFD instead, and the job fails for good", async () => {
    const { queue, app } = names();
    const a = adapter(app);
    const backend = new Backend("w", a);
    const task = defineTask(
      "breaks",
      async () => {
        throw new Error("bad byte \u0000 and \ud800 here");
      },
      { queue },
    ).using({ backend });
    const w = await worker({ tasks: [task], backend });
    const failed: string[] = [];
    w.on("failed", (e) => failed.push(e.error.message));
    const handle = await task.enqueue(undefined);
    await until(() => failed.length === 1, 10_000, "the failed event");
    await until(() => w.active === 0, 10_000, "the slot");
    let info = await handle.refresh();
    for (let i = 0; i < 100 && info.status !== "failed"; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      info = await handle.refresh();
    }
    expect(info.status).toBe("failed");
    expect(info.error?.message).toBe("bad byte \ufffd and \ufffd here");
  });

  it("an adapter over an existing pg pool, and one over an existing pg-boss instance, both run jobs", async () => {
    const { queue, app } = names();
    const pool = new pg.Pool({ connectionString: DATABASE_URL, application_name: app, max: 4 });
    opened.push({ close: () => pool.end() });
    const overPool = new PgBossAdapter({ pool, schema: CONFORMANCE_SCHEMA });
    const boss = new PgBoss({ connectionString: DATABASE_URL, schema: CONFORMANCE_SCHEMA, application_name: app, registerInstance: false });
    boss.on("error", () => {});
    await boss.start();
    opened.push({ close: () => boss.stop({ graceful: false, close: true }) });
    const overBoss = new PgBossAdapter({ boss, schema: CONFORMANCE_SCHEMA });
    opened.push(overPool, overBoss);
    const seen: string[] = [];
    const task = defineTask(
      "job",
      async (p: { via: string }) => {
        seen.push(p.via);
      },
      { queue },
    );
    await task.using({ backend: new Backend("pool", overPool) }).enqueue({ via: "pool" });
    await task.using({ backend: new Backend("boss", overBoss) }).enqueue({ via: "boss" });
    await worker({ tasks: [task], backend: new Backend("pool", overPool) });
    await until(() => seen.length === 2, 10_000, "both jobs");
    expect(seen.sort()).toEqual(["boss", "pool"]);
    await overBoss.close();
    expect(await boss.getQueue(queue)).not.toBeNull(); // the given instance is still usable
  });
});

describe("pg-boss adapter: reading and cancelling by id", () => {
  it("an id that is not a UUID, or a queue never created, names no job", async () => {
    const { queue, app } = names();
    const a = adapter(app);
    expect(await a.getJob("not-a-uuid", queue)).toBeNull();
    expect(await a.cancel("not-a-uuid", queue)).toBe(false);
    expect(await a.getJob("00000000-0000-4000-8000-000000000000", `${queue}-never`)).toBeNull();
    expect(await a.cancel("00000000-0000-4000-8000-000000000000", `${queue}-never`)).toBe(false);
    expect(await a.listDeadLetters(`${queue}-never`, 10)).toEqual([]);
  });

  it("a delayed job is stored with its due time and reads back as scheduled, then is cancelled", async () => {
    const { queue, app } = names();
    const a = adapter(app);
    const task = defineTask("later", async () => {}, { queue }).using({ backend: new Backend("w", a) });
    const runAt = Date.now() + 60_000;
    const handle = await task.enqueue(undefined, { runAt: new Date(runAt), priority: 40 });
    const info = await a.getJob(handle.id, queue);
    expect(info).toMatchObject({ status: "scheduled", attempt: 0, maxAttempts: 1, name: "later" });
    expect(Math.abs((info?.runAt ?? 0) - runAt)).toBeLessThan(5);
    const stored = await (await a.pgBoss()).getJobById(queue, handle.id);
    expect(stored?.priority).toBe(40);
    expect(await handle.cancel()).toBe(true);
    expect((await handle.refresh()).status).toBe("cancelled");
  });
});

describe("pg-boss adapter: inspection", () => {
  it("stats() without names lists pg-boss's queues; a foreign cursor is refused; pause is not offered", async () => {
    const { queue, app } = names();
    const a = adapter(app);
    const backend = new Backend(app, a);
    const job = defineTask("job", async (_p: { n: number }) => {}, { queue }).using({ backend });
    const kept = await job.enqueue({ n: 1 });
    const dropped = await job.enqueue({ n: 2 });
    expect(await a.cancel(dropped.id, queue)).toBe(true);
    expect((await a.stats()).find((s) => s.queue === queue)).toMatchObject({ counts: { queued: 1, cancelled: 1 } });
    expect((await a.listJobs(queue, { limit: 10 })).jobs.map((j) => [j.id, j.status])).toEqual([
      [dropped.id, "cancelled"],
      [kept.id, "queued"],
    ]);
    await expect(a.listJobs(queue, { limit: 1, cursor: "elsewhere" })).rejects.toThrow(/cursor "elsewhere" was not returned/);
    await expect(backend.pause(queue)).rejects.toThrow(/pg-boss/);
  });

  it("redrive leaves failed a job whose deduplication key an unfinished job holds, and ignores ids that are not pg-boss's", async () => {
    const { queue, app } = names();
    const a = adapter(app);
    const backend = new Backend(app, a);
    const failed: string[] = [];
    const job = defineTask(
      "doomed",
      async () => {
        throw new Error("no");
      },
      { queue },
    ).using({ backend });
    const w = await worker({ tasks: [job], backend, concurrency: 1 });
    w.on("failed", (e) => failed.push(e.job.id));
    const first = await job.enqueue(undefined, { deduplicationKey: "k" });
    await until(() => failed.length === 1, 10_000, "the job to fail");
    await w.close({ graceMs: 0 });
    const holder = await job.enqueue(undefined, { deduplicationKey: "k", delayMs: 60_000 });
    expect(holder.id).not.toBe(first.id);
    expect(await a.redrive(queue, ["not-a-uuid"])).toBe(0);
    expect(await a.redrive(queue, [first.id])).toBe(0);
    expect((await a.listDeadLetters(queue, 10)).map((j) => j.id)).toEqual([first.id]);
    expect(await a.cancel(holder.id, queue)).toBe(true);
    expect(await a.redrive(queue)).toBe(1);
    expect((await a.getJob(first.id, queue))?.status).toBe("queued");
    expect((await a.getJob(first.id, queue))?.attempt).toBe(0);
  });
});

describe("pg-boss adapter: retention", () => {
  it("finished jobs past the backend's retention are deleted from pg-boss's table by its maintenance, succeeded and failed each by its own", async () => {
    const { queue, app } = names();
    const a = adapter(app, { maintenanceIntervalSeconds: 1, superviseIntervalSeconds: 1 });
    const backend = new Backend(app, { adapter: a, retention: { succeededMs: 1_000, failedMs: 60_000 } });
    const task = defineTask(
      "kept",
      async (p: { fail: boolean }) => {
        if (p.fail) throw new Error("fails for good");
      },
      { queue },
    ).using({ backend });
    await worker({ tasks: [task], backend });
    const ok = await task.enqueue({ fail: false });
    const bad = await task.enqueue({ fail: true });
    await ok.wait({ timeoutMs: 10_000 });
    await expect(bad.wait({ timeoutMs: 10_000 })).rejects.toThrow("fails for good");
    const pool = new pg.Pool({ connectionString: DATABASE_URL, max: 1 });
    opened.push({ close: () => pool.end() });
    const stored = async (id: string) =>
      (await pool.query(`SELECT deletion_seconds FROM ${CONFORMANCE_SCHEMA}.job WHERE name = $1 AND id = $2`, [queue, id])).rows[0] as
        | { deletion_seconds: number }
        | undefined;
    expect((await stored(bad.id))?.deletion_seconds).toBe(60);
    await expect.poll(() => stored(ok.id), { timeout: 10_000, interval: 200 }).toBeUndefined();
    expect(await stored(bad.id)).toBeDefined();
    expect((await backend.getJob(bad.id, queue))?.status).toBe("failed");
  }, 30_000);
});
