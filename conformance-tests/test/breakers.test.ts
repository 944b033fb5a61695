import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { MemoryAdapter } from "@taskport/core";
import { expect, it } from "vitest";
import { BREAKERS, type ConformanceReport } from "../src/index.ts";

// The suite proves its own strength: the memory engine wrapped by each breaker must fail the group
// that checks the obligation it breaks. (Unwrapped, the memory engine passes the whole suite: see
// core/test/memory-conformance.test.ts.)

const CONFIG = fileURLToPath(new URL("./fixtures/vitest.breakers.config.ts", import.meta.url));
const VITEST = fileURLToPath(new URL("vitest.mjs", import.meta.resolve("vitest/package.json")));

const SLICES = 4;

function runChild(reports: string, slice: string): Promise<string> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [VITEST, "run", "--config", CONFIG],
      {
        env: { ...process.env, TASKPORT_REPORT_DIR: reports, TASKPORT_BREAKER_SLICE: slice },
        maxBuffer: 64 * 1024 * 1024,
        // Far above the ~1.5 min a slice takes alone: CI runs this beside the whole suite.
        timeout: 900_000,
      },
      (_error, stdout, stderr) => resolve(`${stdout}\n${stderr}`),
    );
  });
}

it("every breaker is caught by the group that checks its obligation", async () => {
  const reports = mkdtempSync(join(tmpdir(), "taskport-breakers-"));
  // A caught breaker mostly waits out its test's deadline, so slices of them run in child vitests
  // side by side. Each child is expected to exit non-zero: every run in it breaks an obligation.
  const outputs = await Promise.all(Array.from({ length: SLICES }, (_, slice) => runChild(reports, `${slice}/${SLICES}`)));
  const output = outputs.join("\n");
  const capabilities = new MemoryAdapter().capabilities;
  const applicable = BREAKERS.filter((b) => !b.applies || b.applies(capabilities));
  const missed: string[] = [];
  for (const breaker of applicable) {
    let report: ConformanceReport;
    try {
      report = JSON.parse(readFileSync(join(reports, `memory~${breaker.name}.json`), "utf8"));
    } catch {
      missed.push(`${breaker.name}: no report (did the run start?)`);
      continue;
    }
    const outcome = report.groups[breaker.caughtBy];
    if (outcome?.status !== "failed") {
      missed.push(
        `${breaker.name} (obligation: ${breaker.obligation}) was not caught by the ${breaker.caughtBy} group: ${JSON.stringify(outcome)}`,
      );
    }
  }
  expect(missed, `breakers the suite did not catch:\n${missed.join("\n")}\n--- child output (tail)\n${output.slice(-3000)}`).toEqual([]);
  expect(applicable.length).toBe(BREAKERS.length);
  console.log(`[taskport] the conformance suite's strength: ${applicable.length} obligations, each proven by a breaker.`);
}, 960_000);

it("every breaker names its obligation and a group, and no two break the same way", () => {
  const names = new Set(BREAKERS.map((b) => b.name));
  expect(names.size).toBe(BREAKERS.length);
  for (const breaker of BREAKERS) {
    expect(breaker.obligation.length).toBeGreaterThan(20);
    expect(breaker.name).toMatch(/^[a-z-]+$/);
  }
});
