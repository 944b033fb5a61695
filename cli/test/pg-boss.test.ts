import { randomBytes } from "node:crypto";
import { TcpRelay } from "@taskport/conformance";
import { Backend } from "@taskport/core";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { assertBuilt, CliProcess, FIXTURE, runCli } from "./run-cli.ts";

// The CLI against a real engine: pg-boss on the shared PostgreSQL. Everything lives in a schema of
// its own, dropped afterwards; connections carry an application_name of their own.

const run = randomBytes(4).toString("hex");
const SCHEMA = `tpcli_${run}`;
const SERVER = "postgres://postgres@127.0.0.1:5432/test";
const urlVia = (port: number) => `postgres://postgres@127.0.0.1:${port}/test?schema=${SCHEMA}&application_name=tp-cli-${run}`;
const URL = urlVia(5432);

const probe = new Backend("probe", SERVER);
const problems = await probe.check();
await probe.close();
const reachable = problems.length === 0;
if (!reachable && process.env.CI !== "true") {
  console.warn(
    `\n${"!".repeat(80)}\n[taskport] cli: PostgreSQL is not reachable, SKIPPING the CLI's real-engine tests:\n  ${problems.map((p) => p.message).join("\n  ")}\n${"!".repeat(80)}\n`,
  );
}
const suite = reachable || process.env.CI === "true" ? describe : describe.skip;

suite("the CLI on pg-boss", () => {
  let worker: CliProcess;

  beforeAll(async () => {
    assertBuilt("pg-boss");
    if (!reachable) throw new Error(`PostgreSQL is not reachable (required in CI): ${problems.map((p) => p.message).join("; ")}`);
    worker = new CliProcess(["worker", FIXTURE, "--url", URL, "--concurrency", "4"]);
    await worker.waitFor(/ready: 3 task\(s\)/, 60_000);
  }, 90_000);

  afterAll(async () => {
    worker?.kill("SIGTERM");
    await worker?.done;
    const client = new pg.Client({ connectionString: SERVER });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
    await client.end();
  }, 60_000);

  it("check passes, exit 0", async () => {
    const { code, stdout } = await runCli(["check"], { TASKPORT_URL: URL });
    expect(code).toBe(0);
    expect(stdout).toContain(`ok   default (${URL})`);
  });

  it("enqueue --wait prints the result once the worker ran the job, exit 0", async () => {
    const { code, stdout, stderr } = await runCli(["enqueue", "slow", '{"ms":300}', "--wait", "--wait-timeout", "20s"], {
      TASKPORT_URL: URL,
    });
    expect(code).toBe(0);
    expect(stdout).toMatch(/^enqueued slow as (\S+) on queue default \(queued\)\n\{"sleptMs":300\}\n$/);
    // Not a terminal: the progress display prints a line per change, ending with the final state.
    expect(stderr).toMatch(/slow \S+: succeeded \(attempt 1\/1\)\n$/);
    await worker.waitFor(/done {5}slow /);
  });

  it("status shows a finished job and its result; --json gives the job as stored", async () => {
    const enqueued = await runCli(["enqueue", "greet", '{"name":"ada"}', "--url", URL, "--json"]);
    const { id } = JSON.parse(enqueued.stdout) as { id: string };
    await worker.waitFor(new RegExp(`done {5}greet ${id}`));
    const human = await runCli(["status", id, "--url", URL]);
    expect(human.code).toBe(0);
    expect(human.stdout).toBe(`greet ${id}: succeeded (attempt 1/1)\nresult: {"greeting":"hello ada"}\n`);
    const json = await runCli(["status", id, "--url", URL, "--json"]);
    expect(JSON.parse(json.stdout)).toMatchObject({ id, name: "greet", status: "succeeded", result: { greeting: "hello ada" } });
  });

  it("a job that fails for good makes --wait exit 5 with the error", async () => {
    const { code, stderr } = await runCli(["enqueue", "explode", "--url", URL, "--wait", "--wait-timeout", "20s"]);
    expect(code).toBe(5);
    expect(stderr).toMatch(/taskport: job \S+ failed after attempt 1: Error: kaboom\n$/);
  });

  it("status of an unknown job exits 8; --wait on a delayed job times out with exit 7", async () => {
    const unknown = await runCli(["status", "00000000-0000-4000-8000-000000000000", "--url", URL]);
    expect(unknown.code).toBe(8);
    expect(unknown.stderr).toContain('jobs are looked up in queue "default"');
    const delayed = await runCli(["enqueue", "greet", '{"name":"later"}', "--url", URL, "--delay", "1h", "--json"]);
    const { id } = JSON.parse(delayed.stdout) as { id: string };
    const waited = await runCli(["status", id, "--url", URL, "--wait", "--timeout", "1s"]);
    expect(waited.code).toBe(7);
    expect(waited.stderr).toContain(`job ${id} is still scheduled after 1000 ms`);
  });

  it("SIGTERM lets the running job finish, then the worker exits 0", { timeout: 60_000 }, async () => {
    const own = new CliProcess(["worker", FIXTURE, "--url", URL, "--queues", "term", "--grace", "20s"]);
    try {
      await own.waitFor(/ready: /, 30_000);
      await runCli(["enqueue", "slow", '{"ms":1500}', "--url", URL, "--queue", "term"]);
      await own.waitFor(/start {4}slow /, 20_000);
      own.kill("SIGTERM");
      const { code, stdout } = await own.done;
      expect(code).toBe(0);
      const stopping = stdout.indexOf("stopping (SIGTERM): waiting up to 20000 ms for 1 running job(s)");
      const done = stdout.search(/done {5}slow /);
      expect(stopping).toBeGreaterThan(-1);
      expect(done).toBeGreaterThan(stopping);
      expect(stdout.indexOf("stopped", done)).toBeGreaterThan(done);
    } finally {
      own.kill("SIGKILL");
    }
  });

  it("a worker reports a lost connection and goes on once the engine answers again", { timeout: 60_000 }, async () => {
    const proxy = await TcpRelay.start(5432);
    const port = proxy.port;
    const cut = new CliProcess(["worker", FIXTURE, "--url", urlVia(port), "--queues", "cut", "--give-up-after", "20s"]);
    try {
      await cut.waitFor(/ready: /, 30_000);
      proxy.cut();
      await cut.waitFor(/error {4}/, 20_000);
      await cut.waitFor(/engine reachable again; the worker goes on/, 20_000);
      const { code } = await runCli([
        "enqueue",
        "greet",
        '{"name":"after"}',
        "--url",
        URL,
        "--queue",
        "cut",
        "--wait",
        "--wait-timeout",
        "20s",
      ]);
      expect(code).toBe(0);
      await cut.waitFor(/done {5}greet /);
    } finally {
      cut.kill("SIGTERM");
      expect((await cut.done).code).toBe(0);
      await proxy.close();
    }
  });

  it("a worker whose engine stays unreachable exits 4, not silently", { timeout: 60_000 }, async () => {
    const proxy = await TcpRelay.start(5432);
    const port = proxy.port;
    const lost = new CliProcess(["worker", FIXTURE, "--url", urlVia(port), "--queues", "lost", "--give-up-after", "2s", "--grace", "1s"]);
    await lost.waitFor(/ready: /, 30_000);
    await proxy.close();
    const { code, stderr } = await lost.done;
    expect(code).toBe(4);
    expect(stderr).toMatch(/error {4}/);
    expect(stderr).toMatch(/the engine has been unreachable for 2000 ms \(.*\); exiting with code 4/);
  });
});
