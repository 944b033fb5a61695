import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { assertBuilt, runCli } from "./run-cli.ts";

// The inspection commands as a child process, on the in-process memory engine: the fixture module
// fills the engine when loaded, so each command has queues to show.

const OPS = fileURLToPath(new URL("./fixtures/operations.ts", import.meta.url));

beforeAll(() => assertBuilt());

describe("inspection commands", () => {
  it("queues: a table of each queue's counts and the oldest wait; --json the same as data", async () => {
    const table = await runCli(["queues", "--module", OPS]);
    expect(table.code).toBe(0);
    const lines = table.stdout.trim().split("\n");
    expect(lines[0]).toMatch(/^QUEUE\s+SCHEDULED\s+QUEUED\s+RUNNING\s+SUCCEEDED\s+FAILED\s+CANCELLED\s+OLDEST WAIT\s+PAUSED$/);
    expect(lines.find((l) => l.startsWith("mail"))).toMatch(/^mail\s+0\s+3\s+0\s+0\s+0\s+0\s+\d+(\.\d)? m?s\s+-$/);
    expect(lines.find((l) => l.startsWith("risky"))).toMatch(/^risky\s+0\s+0\s+0\s+0\s+2\s+0\s+-\s+-$/);
    const json = await runCli(["queues", "--module", OPS, "--queues", "mail", "--json"]);
    expect(json.code).toBe(0);
    const { queues } = JSON.parse(json.stdout);
    expect(queues).toEqual([expect.objectContaining({ queue: "mail", counts: expect.objectContaining({ queued: 3 }), paused: false })]);
  });

  it("jobs: newest first, a page at a time, by status", async () => {
    const first = await runCli(["jobs", "mail", "--module", OPS, "--limit", "2", "--json"]);
    expect(first.code).toBe(0);
    const page = JSON.parse(first.stdout);
    expect(page.jobs.map((j: { payload: { to: string } }) => j.payload.to)).toEqual(["c@example.com", "b@example.com"]);
    expect(page.cursor).toBeTruthy();
    const human = await runCli(["jobs", "risky", "--module", OPS, "--status", "failed"]);
    expect(human.stdout).toMatch(/^ID\s+TASK\s+STATUS\s+ATTEMPTS\s+ENQUEUED\s+RESULT \/ ERROR/);
    expect(human.stdout.match(/risky\s+failed\s+1\/1\s+\S+\s+Error: the remote said no/g)).toHaveLength(2);
    const bad = await runCli(["jobs", "mail", "--module", OPS, "--status", "lost"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--status must be one of");
  });

  it("dead-letters lists the failed jobs with their errors, and redrive runs them again", async () => {
    const letters = await runCli(["dead-letters", "risky", "--module", OPS, "--json"]);
    expect(letters.code).toBe(0);
    const list = JSON.parse(letters.stdout);
    expect(list).toHaveLength(2);
    expect(list[0].error.message).toBe("the remote said no");
    // Each CLI process has its own memory engine, so ids do not carry over: redrive them all.
    const redrive = await runCli(["redrive", "risky", "--module", OPS]);
    expect(redrive.code).toBe(0);
    expect(redrive.stdout).toBe("redrove 2 job(s) of risky\n");
  });

  it("discard removes dead letters for good; ids that are not dead letters are not counted", async () => {
    const none = await runCli(["discard", "risky", "no-such-job", "--module", OPS, "--json"]);
    expect(none.code).toBe(0);
    expect(JSON.parse(none.stdout)).toEqual({ queue: "risky", discarded: 0 });
    const all = await runCli(["discard", "risky", "--module", OPS]);
    expect(all).toMatchObject({ code: 0, stdout: "discarded 2 job(s) of risky\n" });
  });

  it("pause and resume say what they did", async () => {
    const pause = await runCli(["pause", "mail", "--module", OPS]);
    expect(pause).toMatchObject({ code: 0, stdout: "paused mail\n" });
    const resume = await runCli(["resume", "mail", "--module", OPS, "--json"]);
    expect(JSON.parse(resume.stdout)).toEqual({ queue: "mail", resumed: true });
  });

  it("an engine without queue stats is refused with exit 6 and what to do", async () => {
    const { code, stderr } = await runCli(["queues", "--url", "sqs://key:secret-password@127.0.0.1:1?region=us-east-1"]);
    expect(code).toBe(6);
    expect(stderr).toContain("does not support queue statistics");
    expect(stderr).not.toContain("secret-password");
  });
});
