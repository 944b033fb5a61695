import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { Backend } from "@taskport/core";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { assertBuilt, BIN, CliProcess, FIXTURE, runCli } from "./run-cli.ts";

// The CLI on BullMQ, an engine that stores progress: the live display of `--wait`. Keys live under
// a prefix of this run's own, deleted afterwards (never FLUSHDB: the server is shared).

const PREFIX = `tpcli-${randomBytes(4).toString("hex")}`;
const URL = `bullmq://127.0.0.1:6379/0?prefix=${PREFIX}`;

const probe = new Backend("probe", URL);
const problems = await probe.check();
await probe.close();
const reachable = problems.length === 0;
if (!reachable && process.env.CI !== "true") {
  console.warn(
    `\n${"!".repeat(80)}\n[taskport] cli: Redis is not reachable, SKIPPING the CLI's BullMQ tests:\n  ${problems.map((p) => p.message).join("\n  ")}\n${"!".repeat(80)}\n`,
  );
}
const suite = reachable || process.env.CI === "true" ? describe : describe.skip;

suite("the CLI on BullMQ", () => {
  let worker: CliProcess;

  beforeAll(async () => {
    assertBuilt("bullmq");
    if (!reachable) throw new Error(`Redis is not reachable (required in CI): ${problems.map((p) => p.message).join("; ")}`);
    worker = new CliProcess(["worker", FIXTURE, "--url", URL]);
    await worker.waitFor(/ready: 3 task\(s\)/, 30_000);
  }, 60_000);

  afterAll(async () => {
    worker?.kill("SIGTERM");
    await worker?.done;
    const redis = new Redis({ host: "127.0.0.1", port: 6379, lazyConnect: true });
    await redis.connect();
    const keys: string[] = [];
    let cursor = "0";
    do {
      const [next, batch] = await redis.scan(cursor, "MATCH", `${PREFIX}:*`, "COUNT", 1000);
      cursor = next;
      keys.push(...batch);
    } while (cursor !== "0");
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
  }, 30_000);

  it("enqueue --wait shows the job's stored progress, then prints its result", { timeout: 30_000 }, async () => {
    const { code, stdout, stderr } = await runCli(["enqueue", "slow", '{"ms":2000}', "--url", URL, "--wait", "--wait-timeout", "20s"]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/\n\{"sleptMs":2000\}\n$/);
    // Not a terminal: one line per change. The poll sees some of the 25/50/75/100 % steps.
    // (The maximum is not pinned: the BullMQ adapter reports maxAttempts 0 for a one-attempt job.)
    expect(stderr).toMatch(/slow \S+: running \(attempt 1\/\d\) \[#{5,15}-{5,15}\] (25|50|75)%\n/);
    expect(stderr).toMatch(/slow \S+: succeeded \(attempt 1\/\d\) \[####################\] 100%\n$/);
  });

  // `script` gives the CLI a pseudo-terminal, where the display redraws one line in place.
  it.skipIf(!existsSync("/usr/bin/script"))("on a terminal, --wait redraws one live line", { timeout: 30_000 }, async () => {
    const command = [
      process.execPath,
      BIN,
      "enqueue",
      "slow",
      "'{\"ms\":1200}'",
      "--url",
      `'${URL}'`,
      "--wait",
      "--wait-timeout",
      "20s",
    ].join(" ");
    const { status, stdout } = spawnSync("/usr/bin/script", ["-qec", command, "/dev/null"], { encoding: "utf8", timeout: 25_000 });
    expect(status).toBe(0);
    // Each redraw returns the cursor and clears the line, then writes the new state.
    const frames = stdout.split("\r\x1b[2K").slice(1);
    expect(frames.some((frame) => /^slow \S+: running \(attempt 1\/\d\) \[#{5,15}-{5,15}\] (25|50|75)%$/.test(frame))).toBe(true);
    expect(frames.at(-1)).toMatch(/^slow \S+: succeeded \(attempt 1\/\d\) \[#{20}\] 100%\r?\n/);
    expect(stdout).toContain('{"sleptMs":1200}');
  });

  it("status --json shows the stored progress and result", async () => {
    const enqueued = await runCli(["enqueue", "slow", '{"ms":100}', "--url", URL, "--json"]);
    const { id } = JSON.parse(enqueued.stdout) as { id: string };
    const waited = await runCli(["status", id, "--url", URL, "--wait", "--timeout", "20s"]);
    expect(waited.code).toBe(0);
    const { code, stdout } = await runCli(["status", id, "--url", URL, "--json"]);
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ id, name: "slow", status: "succeeded", progress: 100, result: { sleptMs: 100 } });
  });
});
