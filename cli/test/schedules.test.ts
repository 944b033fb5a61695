import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { assertBuilt, CliProcess, FIXTURE, runCli } from "./run-cli.ts";

// Schedules through the CLI, as a child process on the in-process memory engine.

const SCHEDULED = fileURLToPath(new URL("./fixtures/scheduled.ts", import.meta.url));

beforeAll(() => assertBuilt());

describe("schedules", () => {
  it("lists each exported schedule with its next tick, and its last where the engine keeps jobs", async () => {
    const { code, stdout } = await runCli(["schedules", SCHEDULED]);
    expect(code).toBe(0);
    const lines = stdout.trim().split("\n");
    expect(lines[0]).toMatch(/^SCHEDULE\s+TASK\s+WHEN\s+TZ\s+NEXT\s+LAST\s+LAST STATUS$/);
    expect(stdout).toMatch(/heartbeat\s+heartbeat\s+every 1s\s+UTC\s+\d{4}-\d\d-\d\dT[\d:.]+Z\s+\S+Z\s+not run/);
    expect(stdout).toMatch(/nightly-report\s+report\s+0 3 \* \* \*\s+Europe\/Paris\s+\d{4}-\d\d-\d\dT0[12]:00:00\.000Z/);
  });

  it("--json prints one object per schedule", async () => {
    const { code, stdout } = await runCli(["schedules", SCHEDULED, "--json"]);
    expect(code).toBe(0);
    const rows = stdout
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line));
    expect(rows.map((r) => r.name)).toEqual(["heartbeat", "nightly-report"]);
    expect(rows[1]).toMatchObject({ task: "report", when: "0 3 * * *", tz: "Europe/Paris", lastStatus: "not run" });
    expect(Date.parse(rows[0].next)).toBeGreaterThan(Date.now() - 1_000);
  });

  it("a module without schedules is a usage error", async () => {
    const { code, stderr } = await runCli(["schedules", FIXTURE]);
    expect(code).toBe(2);
    expect(stderr).toContain("exports no schedules");
  });

  it("the worker runs the schedules a module exports", async () => {
    const worker = new CliProcess(["worker", SCHEDULED, "--json"]);
    try {
      await worker.waitFor(/"event":"ready"/);
      await worker.waitFor(/"event":"succeeded".*"heartbeat"[\s\S]*"event":"succeeded".*"heartbeat"/, 10_000);
    } finally {
      worker.kill("SIGTERM");
      await worker.done;
    }
  });
});
