import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { assertBuilt, CliProcess, CONFIGURED, FIXTURE, NO_RESULTS, runCli, stackLines } from "./run-cli.ts";

// The CLI as a child process against the in-process memory engine: output, exit codes, signals.

beforeAll(() => assertBuilt());

const enqueueOnLoad = (jobs: [string, unknown][]) => ({ FIXTURE_ENQUEUE: JSON.stringify(jobs) });

describe("help and errors", () => {
  it.each(["worker", "check", "enqueue", "status", "conformance"])("%s --help shows examples and exit codes", async (command) => {
    const { code, stdout } = await runCli([command, "--help"]);
    expect(code).toBe(0);
    expect(stdout).toContain(`Usage: taskport ${command}`);
    expect(stdout).toContain("Examples:\n  $ taskport ");
    expect(stdout).toContain("Exit codes:");
  });

  it("an unknown option is a usage error, exit 2", async () => {
    const { code, stderr } = await runCli(["check", "--nope"]);
    expect(code).toBe(2);
    expect(stderr).toContain("unknown option '--nope'");
  });

  it("a bad payload is one line without a stack; --verbose adds the stack", async () => {
    const plain = await runCli(["enqueue", "greet", "{bad"]);
    expect(plain.code).toBe(2);
    expect(plain.stderr.trim().split("\n")).toHaveLength(1);
    expect(plain.stderr).toMatch(/^taskport: the payload is not valid JSON .*Quote it for your shell/);
    const verbose = await runCli(["enqueue", "greet", "{bad", "--verbose"]);
    expect(verbose.code).toBe(2);
    expect(stackLines(verbose.stderr).length).toBeGreaterThan(0);
  });

  it("an invalid option value names the option", async () => {
    const { code, stderr } = await runCli(["enqueue", "greet", "null", "--priority", "500"]);
    expect(code).toBe(2);
    expect(stderr).toContain("priority must be an integer from -100 to 100");
    expect(stackLines(stderr)).toEqual([]);
  });
});

describe("check", () => {
  it("passes on the memory engine, exit 0", async () => {
    const { code, stdout } = await runCli(["check"]);
    expect(code).toBe(0);
    expect(stdout).toBe("ok   default (memory://)\n");
  });

  it("reports an unreachable engine with what to do, exit 3, password hidden", async () => {
    const { code, stdout, stderr } = await runCli(["check", "--url", "postgres://app:s3cret-pw@127.0.0.1:1/app", "--json"]);
    expect(code).toBe(3);
    const report = JSON.parse(stdout) as { ok: boolean; backends: { ok: boolean; problems: string[] }[] };
    expect(report.ok).toBe(false);
    expect(report.backends[0]?.problems[0]).toMatch(/cannot reach PostgreSQL .*Is the server running/);
    expect(stdout + stderr).not.toContain("s3cret-pw");
  });

  it("an unknown URL scheme is a configuration problem", async () => {
    const { code, stdout } = await runCli(["check", "--url", "kafka://127.0.0.1:9092"]);
    expect(code).toBe(3);
    expect(stdout).toContain('unknown backend URL scheme "kafka:"');
  });

  it("checks the backends of a module's configure() call", async () => {
    const module = CONFIGURED;
    const { code, stdout } = await runCli(["check", "--module", module]);
    expect(code).toBe(3);
    expect(stdout).toContain("ok   default (memory://)");
    expect(stdout).toContain("FAIL reports (postgres://127.0.0.1:1/app)");
  });
});

describe("enqueue and status", () => {
  it("enqueue prints the job, with per-call options and the module's task", async () => {
    const { code, stdout } = await runCli([
      "enqueue",
      "greet",
      '{"name":"ada"}',
      "--module",
      FIXTURE,
      "--queue",
      "emails",
      "--delay",
      "5m",
      "--json",
    ]);
    expect(code).toBe(0);
    const line = JSON.parse(stdout) as Record<string, unknown>;
    expect(line).toMatchObject({ event: "enqueued", task: "greet", queue: "emails", status: "scheduled", deduplicated: false });
    expect(typeof line.id).toBe("string");
  });

  it("reads the payload from stdin with -, and warns that memory:// jobs die with the command", async () => {
    const { code, stdout, stderr } = await runCli(["enqueue", "greet", "-"], {}, '{"name":"stdin"}');
    expect(code).toBe(0);
    expect(stdout).toMatch(/^enqueued greet as \S+ on queue default \(queued\)\n$/);
    expect(stderr).toContain("taskport: warning: memory:// is the in-process engine; this job is gone when the command exits.");
    const waited = await runCli(["enqueue", "greet", "{}", "--wait"]);
    expect(waited.code).toBe(2);
    expect(waited.stderr).toContain("--wait cannot work with memory://");
  });

  it("a task the module does not export is named, exit 2", async () => {
    const { code, stderr } = await runCli(["enqueue", "nope", "--module", FIXTURE]);
    expect(code).toBe(2);
    expect(stderr).toContain('exports no task named "nope". It exports: explode, greet, slow');
  });

  it("status on an engine that stores no status says so, exit 6", async () => {
    const { code, stderr } = await runCli(["status", "some-id", "--module", NO_RESULTS, "--url", "fire-and-forget://"]);
    expect(code).toBe(6);
    expect(stderr).toMatch(/^taskport: fire-and-forget:\/\/ does not store job status or results, so taskport cannot show job some-id\./);
    expect(stderr.trim().split("\n")).toHaveLength(1);
    const waited = await runCli(["enqueue", "ping", "--module", NO_RESULTS, "--url", "fire-and-forget://", "--wait"]);
    expect(waited.code).toBe(6);
    expect(waited.stdout).toMatch(/^enqueued ping as \S+ on queue default/);
  });

  it("status explains that the memory engine lives in one process, exit 8", async () => {
    const { code, stderr } = await runCli(["status", "some-id"]);
    expect(code).toBe(8);
    expect(stderr).toContain("The memory engine lives inside one process");
  });
});

describe("worker", () => {
  it("logs each job's start and end, and SIGTERM lets the running job finish, exit 0", async () => {
    const worker = new CliProcess(
      ["worker", FIXTURE, "--concurrency", "2"],
      enqueueOnLoad([
        ["greet", { name: "ada" }],
        ["explode", null],
        ["slow", { ms: 2500 }],
      ]),
    );
    await worker.waitFor(/ready: 3 task\(s\) \(explode, greet, slow\) on queue\(s\) default, concurrency 2, via memory:\/\//);
    await worker.waitFor(/start {4}slow /);
    worker.kill("SIGTERM");
    const { code, stdout } = await worker.done;
    expect(code).toBe(0);
    expect(stdout).toMatch(/start {4}greet \S+ \(queue default, attempt 1\)/);
    expect(stdout).toMatch(/done {5}greet \S+ in \d+ ms/);
    expect(stdout).toMatch(/failed {3}explode \S+ after attempt 1: kaboom/);
    const stopping = stdout.indexOf("stopping (SIGTERM)");
    const slowDone = stdout.search(/done {5}slow /);
    expect(stopping).toBeGreaterThan(-1);
    expect(slowDone).toBeGreaterThan(stopping);
    expect(stdout.indexOf("stopped")).toBeGreaterThan(slowDone);
  });

  it("a second signal forces the stop, exit 130", async () => {
    const worker = new CliProcess(["worker", FIXTURE], enqueueOnLoad([["slow", { ms: 20_000 }]]));
    await worker.waitFor(/start {4}slow /);
    worker.kill("SIGINT");
    await worker.waitFor(/stopping \(SIGINT\)/);
    worker.kill("SIGINT");
    const { code, stderr, stdout } = await worker.done;
    expect(code).toBe(130);
    expect(stderr).toContain("forced to stop (SIGINT again): 1 running job(s) abandoned");
    expect(stdout).not.toMatch(/done {5}slow/);
  });

  it("--json logs one JSON object per line, progress included", async () => {
    const worker = new CliProcess(["worker", FIXTURE, "--json", "--grace", "5s"], enqueueOnLoad([["slow", { ms: 400 }]]));
    await worker.waitFor(/"event":"succeeded"/);
    worker.kill("SIGTERM");
    const { code, stdout } = await worker.done;
    expect(code).toBe(0);
    const events = stdout
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as { event: string; value?: unknown });
    expect(events.map((e) => e.event)).toEqual(
      expect.arrayContaining(["ready", "started", "progress", "succeeded", "stopping", "stopped"]),
    );
    expect(events.filter((e) => e.event === "progress").map((e) => e.value)).toEqual([25, 50, 75, 100]);
    expect(events.find((e) => e.event === "stopping")).toMatchObject({ reason: "SIGTERM", graceMs: 5000 });
  });

  it("--queues limits what the worker consumes", async () => {
    const worker = new CliProcess(["worker", FIXTURE, "--queues", "elsewhere"], enqueueOnLoad([["greet", { name: "x" }]]));
    await worker.waitFor(/on queue\(s\) elsewhere/);
    await new Promise((resolve) => setTimeout(resolve, 300));
    worker.kill("SIGTERM");
    const { code, stdout } = await worker.done;
    expect(code).toBe(0);
    expect(stdout).not.toContain("start    greet");
  });

  it("a missing module, a module without tasks and bad flags are usage errors, exit 2", async () => {
    const missing = await runCli(["worker", "./nope.ts"]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^taskport: module \.\/nope\.ts not found/);
    const dir = mkdtempSync(join(tmpdir(), "taskport-cli-"));
    writeFileSync(join(dir, "empty.js"), "export const x = 1;\n");
    const empty = await runCli(["worker", join(dir, "empty.js")]);
    expect(empty.code).toBe(2);
    expect(empty.stderr).toContain("exports no tasks. Export each task from it");
    const bad = await runCli(["worker", FIXTURE, "--concurrency", "0"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--concurrency must be a whole number ≥ 1");
  });

  it("--drain runs a second engine beside --url and reports when it is empty", async () => {
    const worker = new CliProcess(["worker", FIXTURE, "--drain", "memory://", "--drain-report", "100ms"]);
    await worker.waitFor(/concurrency 10, via memory:\/\/, draining memory:\/\//);
    await worker.waitFor(
      /drained {2}memory:\/\/: nothing scheduled, queued or running on default\. Once no producer enqueues there any more, remove --drain/,
    );
    worker.kill("SIGTERM");
    expect((await worker.done).code).toBe(0);
  });

  it("--drain names an engine URL or a backend of the module's configure(); one that is unreachable stops the start, exit 3; an unknown name is a usage error, exit 2", async () => {
    const named = await runCli(["worker", CONFIGURED, "--drain", "reports"]);
    expect(named.code).toBe(3);
    expect(named.stderr).toContain("cannot start the worker: postgres://127.0.0.1:1/app is not usable");
    const unknown = await runCli(["worker", CONFIGURED, "--drain", "nosuch"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('no backend named "nosuch"');
  });

  it("an unreachable engine at start exits 3 with the problem", async () => {
    const { code, stderr } = await runCli(["worker", FIXTURE, "--url", "postgres://postgres@127.0.0.1:1/test"]);
    expect(code).toBe(3);
    expect(stderr).toMatch(/cannot reach PostgreSQL/);
    expect(stderr).toContain("cannot start the worker");
  });
});

describe("conformance", () => {
  it("runs the suite against memory:// and writes JSON and markdown reports", { timeout: 180_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), "taskport-cli-"));
    const json = join(dir, "report.json");
    const markdown = join(dir, "report.md");
    // The lateness allowance is widened because CI runs every test file at once on two cores; this
    // test is about the command and its reports, the suite's timing is the memory engine's own test.
    const { code, stdout } = await runCli([
      "conformance",
      "--url",
      "memory://",
      "--json",
      json,
      "--markdown",
      markdown,
      "--latency-scale",
      "3",
    ]);
    expect(code).toBe(0);
    const report = JSON.parse(readFileSync(json, "utf8")) as { adapter: string; groups: Record<string, { status: string }> };
    expect(report.adapter).toBe("memory");
    expect(report.groups.roundTrip?.status).toBe("passed");
    expect(report.groups.serviceRestart?.status).toBe("opted-out");
    expect(readFileSync(markdown, "utf8")).toContain("| roundTrip | ✅ passed |");
    expect(stdout).toMatch(/\n\d+ passed, 0 failed, \d+ group\(s\) not run\n$/);
  });
});
