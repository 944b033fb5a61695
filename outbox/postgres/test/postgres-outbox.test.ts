import {
  Backend,
  ConfigurationError,
  closeBackends,
  configure,
  defineTask,
  getBackend,
  MemoryAdapter,
  MemoryStore,
  ValidationError,
} from "@taskport/core";
import { PostgresStore } from "@taskport/postgres-store";
import { RabbitMQAdapter } from "@taskport/rabbitmq";
import pg from "pg";
import { afterEach, describe, expect, it } from "vitest";
import { PostgresOutbox } from "../src/index.ts";
import { OutboxScope } from "./fixture.ts";
import { AMQP_URL } from "./pairs.ts";
import { DATABASE_URL, inTransaction, rowsOf, sql, TEST_SCHEMA } from "./support.ts";

let scope: OutboxScope;
afterEach(() => scope.cleanup());

/** Connections to PostgreSQL whose application_name is `name`. */
async function connectionsNamed(name: string): Promise<number> {
  const [row] = await sql<{ n: number }>("SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1", [name]);
  return row?.n ?? 0;
}

describe("postgres outbox", () => {
  it("an enqueue without a transaction goes straight to the engine: no row, no connection to the outbox", async () => {
    scope = new OutboxScope();
    const adapter = scope.adapter();
    const { task } = scope.task(adapter);
    await task.enqueueMany([{ n: 1 }, { n: 2 }]);
    expect(await connectionsNamed(`tp-${scope.target}-outbox`)).toBe(0);
    expect(await rowsOf(scope.target)).toBe(0);
  });

  it("a committed job still in the outbox reads as queued, then as the engine reports it once handed over", async () => {
    scope = new OutboxScope();
    const adapter = scope.adapter();
    const { task, backend } = scope.task(adapter);
    let handle: Awaited<ReturnType<typeof task.enqueue>> | undefined;
    await inTransaction("commit", async (client) => {
      handle = await task.enqueue({ n: 1 }, { transaction: client, delayMs: 60_000, priority: 7 });
    });
    // No relay runs yet (no worker): the job waits in the outbox, with its options.
    expect((await handle?.refresh())?.status).toBe("scheduled");
    const [row] = await sql<{ priority: number; run_at: string }>(`SELECT priority, run_at FROM ${TEST_SCHEMA}.outbox WHERE id = $1`, [
      handle?.id,
    ]);
    expect(row?.priority).toBe(7);
    await scope.worker({ tasks: [task], backend });
    await expect.poll(() => rowsOf(scope.target), { timeout: 10_000 }).toBe(0);
    expect((await handle?.refresh())?.status).toBe("scheduled");
    expect(await handle?.cancel()).toBe(true);
  });

  it("every option travels through the outbox: headers, attempts, timeout, priority", async () => {
    scope = new OutboxScope();
    const adapter = scope.adapter();
    const seen: unknown[] = [];
    const backend = new Backend(scope.target, adapter);
    const task = defineTask(
      "options",
      async (_p: undefined, ctx) => {
        seen.push({ headers: ctx.headers, maxAttempts: ctx.maxAttempts, aborted: ctx.signal.aborted });
        await new Promise((resolve) => setTimeout(resolve, 200));
        if (!ctx.signal.aborted) throw new Error("the 100 ms timeout did not travel with the job");
      },
      { queue: `${scope.target}-main` },
    ).using({ backend });
    await inTransaction("commit", async (client) => {
      await task.enqueue(undefined, {
        transaction: client,
        headers: { traceparent: "00-abc-01", "x-note": "ü" },
        attempts: 2,
        timeoutMs: 100,
        priority: 9,
      });
    });
    const [row] = await sql<{ priority: number }>(`SELECT priority FROM ${TEST_SCHEMA}.outbox WHERE target = $1`, [scope.target]);
    expect(row?.priority).toBe(9);
    await scope.worker({ tasks: [task], backend });
    await expect.poll(() => seen.length, { timeout: 10_000 }).toBe(2);
    expect(seen).toEqual([
      { headers: { traceparent: "00-abc-01", "x-note": "ü" }, maxAttempts: 2, aborted: false },
      { headers: { traceparent: "00-abc-01", "x-note": "ü" }, maxAttempts: 2, aborted: false },
    ]);
  });

  it("a payload comes out of the outbox as the same JSON text: key order, U+0000, lone surrogates, emoji", async () => {
    scope = new OutboxScope();
    const adapter = scope.adapter();
    const backend = new Backend(scope.target, adapter);
    const seen: string[] = [];
    const payload = { z: 1, a: ["\u0000 nul", "\ud800 alone", "é 🎉", { b: null, a: -0.5e-7 }], "": "empty key" };
    const task = defineTask("fidelity", async (p: typeof payload) => seen.push(JSON.stringify(p)), { queue: `${scope.target}-main` }).using(
      {
        backend,
      },
    );
    await inTransaction("commit", async (client) => {
      await task.enqueue(payload, { transaction: client });
    });
    await scope.worker({ tasks: [task], backend });
    await expect.poll(() => seen.length, { timeout: 10_000 }).toBe(1);
    expect(seen[0]).toBe(JSON.stringify(payload));
  });

  it("two jobs with one deduplication key in one transaction: the engine keeps one at the hand-over", async () => {
    scope = new OutboxScope();
    const adapter = scope.adapter();
    const { task, backend, runs } = scope.task(adapter);
    await inTransaction("commit", async (client) => {
      await task.enqueue({ n: 1 }, { transaction: client, deduplicationKey: "once" });
      await task.enqueue({ n: 2 }, { transaction: client, deduplicationKey: "once" });
    });
    await scope.worker({ tasks: [task], backend });
    await expect.poll(() => rowsOf(scope.target), { timeout: 10_000 }).toBe(0);
    await expect.poll(() => runs.size, { timeout: 10_000 }).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(runs.size).toBe(1);
  });

  it("several relays at once hand each committed job over exactly once", async () => {
    scope = new OutboxScope();
    const engineSide = scope.adapter();
    const { task, backend, runs } = scope.task(engineSide);
    const total = 1_200;
    await inTransaction("commit", async (client) => {
      for (let i = 0; i < total; i += 300)
        await task.enqueueMany(
          Array.from({ length: 300 }, (_, n) => ({ n: i + n })),
          { transaction: client },
        );
    });
    // Three more processes' worth of relays on the same target, with small batches so that they meet.
    const relays = [
      scope.adapter(engineSide.engine, { batchSize: 25 }),
      scope.adapter(engineSide.engine, { batchSize: 25 }),
      scope.adapter(engineSide.engine, { batchSize: 25 }),
    ];
    const errors: Error[] = [];
    const leases = await Promise.all(relays.map((relay) => relay.startRelay((error) => errors.push(error))));
    await scope.worker({ tasks: [task], backend, concurrency: 50 });
    await expect.poll(() => runs.size, { timeout: 30_000 }).toBe(total);
    await Promise.all(leases.map((lease) => lease.stop()));
    const relayed = leases.reduce((sum, lease) => sum + lease.relay.stats.relayed, 0);
    expect(relayed).toBeLessThanOrEqual(total);
    expect(leases.filter((lease) => lease.relay.stats.relayed > 0).length).toBeGreaterThan(1);
    expect([...runs.values()].every((count) => count === 1)).toBe(true);
    expect(errors).toEqual([]);
    expect(await rowsOf(scope.target)).toBe(0);
  });

  it("something that is not a transaction is refused before anything is written", async () => {
    scope = new OutboxScope();
    const { task } = scope.task(scope.adapter());
    const error = await task.enqueue({ n: 1 }, { transaction: { not: "a client" } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as Error).message).toMatch(/^\[taskport\] \[postgres-outbox\] transaction must be a pg client inside BEGIN/);
    expect(await rowsOf(scope.target)).toBe(0);
  });

  it("a transaction on another database than the outbox's is refused with what to fix", async () => {
    scope = new OutboxScope();
    const { task } = scope.task(scope.adapter());
    await scope.adapter().check(); // the outbox's tables exist in its own database
    const other = new pg.Client({ connectionString: DATABASE_URL.replace(/\/test$/, "/postgres") });
    await other.connect();
    try {
      await other.query("BEGIN");
      const error = await task.enqueue({ n: 1 }, { transaction: other }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConfigurationError);
      expect((error as Error).message).toMatch(/outbox URL must name the database your transactions run on/);
    } finally {
      await other.end();
    }
  });

  it("check() explains an unreachable database, without its password", async () => {
    const outbox = new PostgresOutbox({ connectionString: "postgres://app:s3cret-pw@127.0.0.1:1/app" });
    const problems = await outbox.check();
    await outbox.close();
    expect(problems).toHaveLength(1);
    expect(problems[0]?.message).toMatch(/^\[taskport\] \[postgres-outbox\] cannot reach PostgreSQL at/);
    expect(problems[0]?.message).not.toContain("s3cret-pw");
  });

  it("many processes creating the tables at once: one creates them, none fails", async () => {
    const schema = `tpo_schema_${process.pid}`;
    const outboxes = Array.from({ length: 5 }, () => new PostgresOutbox({ connectionString: DATABASE_URL, schema, max: 1 }));
    try {
      expect((await Promise.all(outboxes.map((outbox) => outbox.check()))).flat()).toEqual([]);
      const [version] = await sql<{ n: number }>(`SELECT count(*)::int AS n FROM ${schema}.outbox_schema_version`);
      expect(version?.n).toBe(1);
    } finally {
      await Promise.all(outboxes.map((outbox) => outbox.close()));
      await sql(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    }
  });
});

describe("outbox configured on a backend", () => {
  afterEach(() => closeBackends());

  it("outbox: beside url: resolves the package from the URL; without an outbox, { transaction } is refused with the way to add one", async () => {
    scope = new OutboxScope();
    configure({
      backends: {
        default: { url: "memory://", outbox: `${DATABASE_URL}?schema=${TEST_SCHEMA}`, outboxOptions: { target: scope.target } },
        plain: { url: "amqp://guest:guest@127.0.0.1:5672" },
      },
    });
    const backend = getBackend();
    expect(backend.description).toContain("with the outbox postgres://");
    const task = defineTask("configured", async () => "ran", { queue: `${scope.target}-main` });
    let id = "";
    await inTransaction("commit", async (client) => {
      id = (await task.enqueue(undefined, { transaction: client })).id;
    });
    expect(await rowsOf(scope.target)).toBe(1);
    await scope.worker({ tasks: [task] });
    await expect.poll(() => rowsOf(scope.target), { timeout: 10_000 }).toBe(0);
    expect((await backend.getJob(id, `${scope.target}-main`))?.status).toMatch(/queued|running|succeeded/);
    const refused = await task
      .using({ backend: "plain" })
      .enqueue(undefined, { transaction: {} })
      .catch((e: unknown) => e);
    expect((refused as Error).message).toMatch(/Configure an outbox beside the engine \(outbox: "postgres:\/\/…"/);
  });

  it("the backend's retention goes to the engine with the jobs the relay hands over", async () => {
    scope = new OutboxScope();
    const backend = new Backend("retained", {
      adapter: new MemoryAdapter(),
      outbox: new PostgresOutbox({ connectionString: DATABASE_URL, schema: TEST_SCHEMA, max: 2 }),
      outboxOptions: { target: scope.target },
      retention: { succeededMs: 300, failedMs: 300 },
    });
    scope.track(backend);
    const task = defineTask("retained", async () => "done", { queue: `${scope.target}-main` }).using({ backend });
    let handle: Awaited<ReturnType<typeof task.enqueue>> | undefined;
    await inTransaction("commit", async (client) => {
      handle = await task.enqueue(undefined, { transaction: client });
    });
    await scope.worker({ tasks: [task], backend });
    expect(await handle?.wait({ timeoutMs: 10_000 })).toBe("done");
    // Kept a day by default: gone after 300 ms only if the retention travelled with the job.
    await expect.poll(() => backend.getJob(handle?.id as string, `${scope.target}-main`), { timeout: 5_000 }).toBeNull();
  });

  it.each([
    { name: "memory", store: () => new MemoryStore() },
    { name: "postgres", store: () => new PostgresStore({ url: DATABASE_URL, schema: "taskport_outbox_store_test", max: 2 }) },
  ])(
    "with the $name job store: a hand-over that died after the store recorded the job, before the engine had it, is made again",
    async ({ store: makeStore }) => {
      scope = new OutboxScope();
      const store = makeStore();
      const outbox = new PostgresOutbox({ connectionString: DATABASE_URL, schema: TEST_SCHEMA, max: 2 });
      const backend = new Backend("handed", {
        adapter: new RabbitMQAdapter({ url: AMQP_URL, connectionName: `tp-${scope.target}` }),
        store,
        outbox,
        outboxOptions: { target: scope.target },
      });
      scope.track(backend);
      const task = defineTask("handed", async (p: { n: number }) => p.n + 1, { queue: `${scope.target}-main` }).using({ backend });
      let handle: Awaited<ReturnType<typeof task.enqueue>> | undefined;
      await inTransaction("commit", async (client) => {
        handle = await task.enqueue({ n: 1 }, { transaction: client });
      });
      // What a relay killed between the store's record and the engine's confirmation leaves: the
      // record, pending, and the row, released for the next relay.
      const waiting = await outbox.get(handle?.id as string, scope.target);
      expect(waiting).not.toBeNull();
      await store.record([waiting as NonNullable<typeof waiting>], 60_000);
      await scope.worker({ tasks: [task], backend });
      expect(await handle?.wait({ timeoutMs: 10_000 })).toBe(2);
    },
  );

  it("with a job store too: the store records a job when the relay hands it over, so a rolled-back one leaves no record", async () => {
    scope = new OutboxScope();
    const store = new MemoryStore();
    const backend = new Backend("stored", {
      adapter: new RabbitMQAdapter({ url: AMQP_URL, connectionName: `tp-${scope.target}` }),
      store,
      outbox: new PostgresOutbox({ connectionString: DATABASE_URL, schema: TEST_SCHEMA, max: 2 }),
      outboxOptions: { target: scope.target },
    });
    scope.track(backend);
    const task = defineTask("stored", async (p: { n: number }) => p.n * 2, { queue: `${scope.target}-main` }).using({ backend });
    let committed: Awaited<ReturnType<typeof task.enqueue>> | undefined;
    let rolledBack: Awaited<ReturnType<typeof task.enqueue>> | undefined;
    await inTransaction("rollback", async (client) => {
      rolledBack = await task.enqueue({ n: 1 }, { transaction: client });
    });
    await inTransaction("commit", async (client) => {
      committed = await task.enqueue({ n: 21 }, { transaction: client });
    });
    expect(await store.get(committed?.id as string)).toBeNull(); // not handed over yet: nothing recorded
    await scope.worker({ tasks: [task], backend });
    expect(await committed?.wait({ timeoutMs: 10_000 })).toBe(42);
    expect(await store.get(rolledBack?.id as string)).toBeNull();
  });
});
