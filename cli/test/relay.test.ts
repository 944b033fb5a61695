import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Backend, defineTask } from "@taskport/core";
import { Redis } from "ioredis";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { assertBuilt, CliProcess, runCli } from "./run-cli.ts";

// `taskport relay` between the shared PostgreSQL (the outbox, in a schema of its own) and BullMQ
// on the shared Redis (a key prefix of this run's own). The backend's name is this run's own too:
// it is the outbox target the rows carry, so no other relay takes them.

const RUN = randomBytes(4).toString("hex");
const PREFIX = `tpclirelay-${RUN}`;
const BACKEND = `tpcli${RUN}`;
const ENGINE = `bullmq://127.0.0.1:6379/0?prefix=${PREFIX}`;
const DATABASE = process.env.TASKPORT_PG_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const SCHEMA = "taskport_cli_test";
const OUTBOX = `${DATABASE}?schema=${SCHEMA}`;
const OUTBOX_DIST = fileURLToPath(new URL("../../outbox/postgres/dist/index.js", import.meta.url));

const probe = new Backend("probe", { url: ENGINE, outbox: OUTBOX });
const problems = await probe.check();
await probe.close();
const reachable = problems.length === 0;
if (!reachable && process.env.CI !== "true") {
  console.warn(
    `\n[taskport] cli: Redis or PostgreSQL is not reachable, SKIPPING taskport relay's tests:\n  ${problems.map((p) => p.message).join("\n  ")}\n`,
  );
}
const suite = reachable || process.env.CI === "true" ? describe : describe.skip;

suite("taskport relay", () => {
  afterAll(async () => {
    const redis = new Redis({ host: "127.0.0.1", port: 6379, lazyConnect: true });
    await redis.connect();
    const keys = await redis.keys(`${PREFIX}:*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
    const client = new pg.Client({ connectionString: DATABASE });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
    await client.end();
  });

  it("hands jobs committed to the outbox over to the engine, and stops on SIGTERM with how many", { timeout: 60_000 }, async () => {
    assertBuilt("bullmq");
    if (!existsSync(OUTBOX_DIST)) throw new Error(`${OUTBOX_DIST} is missing: run \`npx tsc -b\` before the CLI tests.`);
    expect(problems).toEqual([]);
    const relay = new CliProcess(["relay", "--url", ENGINE, "--outbox", OUTBOX, "--backend", BACKEND, "--json"]);
    try {
      await relay.waitFor(/"event":"ready"/, 30_000);
      // The producer side: the same engine and outbox under the same backend name, relaying nothing itself.
      const backend = new Backend(BACKEND, { url: ENGINE, outbox: OUTBOX, outboxOptions: { relayInWorkers: false } });
      const task = defineTask("from-outbox", async () => {}, { queue: "relayed" }).using({ backend });
      const client = new pg.Client({ connectionString: DATABASE });
      await client.connect();
      let id = "";
      try {
        await client.query("BEGIN");
        id = (await task.enqueue(undefined, { transaction: client })).id;
        await client.query("COMMIT");
      } finally {
        await client.end();
      }
      // Handed over: the outbox's row is gone, and BullMQ itself has the job, with its id.
      const reader = new pg.Client({ connectionString: DATABASE });
      await reader.connect();
      const rowsLeft = async () =>
        (await reader.query(`SELECT count(*)::int AS n FROM ${SCHEMA}.outbox WHERE target = $1`, [BACKEND])).rows[0].n as number;
      await expect.poll(rowsLeft, { timeout: 15_000 }).toBe(0);
      await reader.end();
      expect((await backend.getJob(id, "relayed"))?.status).toBe("queued");
      await backend.close();
    } finally {
      relay.child.kill("SIGTERM");
    }
    const result = await relay.done;
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/"event":"stopped","relayed":1,"errors":0/);
  });

  it("a backend without an outbox: says what to configure, exit 2", async () => {
    const { code, stderr } = await runCli(["relay", "--url", "memory://"]);
    expect(code).toBe(2);
    expect(stderr).toMatch(/has no outbox, so there is nothing to relay\. Configure one beside its engine/);
  });
});
