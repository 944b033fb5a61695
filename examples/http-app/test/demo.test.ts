import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, expect, it } from "vitest";
import { EXAMPLE_DATABASE } from "../src/engine.ts";

const run = promisify(execFile);
const demo = fileURLToPath(new URL("../src/demo.ts", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "taskport-demo-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function runDemo(url: string | undefined, ...args: string[]): Promise<{ stdout: string }> {
  const env = { ...process.env };
  if (url === undefined) delete env.TASKPORT_URL;
  else env.TASKPORT_URL = url;
  return run(process.execPath, ["--conditions=@taskport/source", demo, ...args], { env, timeout: 30_000 });
}

it("the quick-start demo keeps its jobs in a SQLite file in the example's folder, needing no server", async () => {
  const { stdout } = await runDemo(undefined);
  expect(stdout).toContain(`engine: sqlite:${EXAMPLE_DATABASE}`);
  expect(stdout.match(/\[worker\] done/g)?.length).toBeGreaterThanOrEqual(3); // and any an earlier run left
  expect(stdout).toMatch(/GET \/jobs\/default\/\w+ {2}← succeeded \{"words":9,"distinct":8\}/);
  expect(stdout).toMatch(/done: 3 requests, 3 jobs(, and the \d+ an earlier run left)?, one worker\./);
}, 40_000);

it("killed with jobs queued (--crash), the demo runs them when it starts again", async () => {
  const url = `sqlite:${join(dir, "jobs.db")}`;
  const killed = await runDemo(url, "--crash").catch((error: { signal?: string; stdout?: string }) => error);
  expect((killed as { signal?: string }).signal).toBe("SIGKILL");
  expect((killed as { stdout: string }).stdout).toContain("killed now (SIGKILL), with 3 jobs queued");
  const left = [...(killed as { stdout: string }).stdout.matchAll(/job (\w+) on/g)].map((m) => m[1]);
  expect(left).toHaveLength(3);

  const { stdout } = await runDemo(url);
  expect(stdout).toContain("found 3 jobs an earlier run left behind: they run first");
  for (const id of left) expect(stdout).toMatch(new RegExp(`\\[worker\\] done .* ${id} → .* \\(left by an earlier run\\)`));
  expect(stdout.match(/\[worker\] done/g)).toHaveLength(6);
  expect(stdout).toContain("done: 3 requests, 3 jobs, and the 3 an earlier run left, one worker.");
}, 60_000);

it("on the memory engine (TASKPORT_URL=memory://) the same demo runs in memory", async () => {
  const { stdout } = await runDemo("memory://");
  expect(stdout).toContain("engine: memory://");
  expect(stdout.match(/\[worker\] done/g)).toHaveLength(3);
  expect(stdout).toContain("done: 3 requests, 3 jobs, one worker.");
}, 40_000);
