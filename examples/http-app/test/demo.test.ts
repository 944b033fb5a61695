import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { expect, it } from "vitest";

const run = promisify(execFile);

it("the quick-start demo runs on the memory engine with no server and says what it did", async () => {
  const demo = fileURLToPath(new URL("../src/demo.ts", import.meta.url));
  const env = { ...process.env };
  delete env.TASKPORT_URL;
  const { stdout } = await run(process.execPath, ["--conditions=@taskport/source", demo], { env, timeout: 30_000 });
  expect(stdout).toContain("engine: memory://");
  expect(stdout.match(/\[worker\] done/g)).toHaveLength(3);
  expect(stdout).toMatch(/GET \/jobs\/default\/\w+ {2}← succeeded \{"words":9,"distinct":8\}/);
  expect(stdout).toContain("done: 3 requests, 3 jobs, one worker.");
}, 40_000);
