import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type { Capabilities } from "@taskport/core";
import type { ConformanceReport } from "../support/report.ts";
import { BREAKERS } from "./all-breakers.ts";
import type { Breaker } from "./breaker.ts";
import { applicableBreakers } from "./run-breakers.ts";

export interface BreakerCheckOptions {
  /** A vitest config whose test files call `runBreakers` for the engine (and nothing else). */
  readonly config: string;
  /** The `name` given to `runBreakers`. */
  readonly name: string;
  /** The adapter's capabilities: they decide which breakers apply. */
  readonly capabilities: Capabilities;
  /** Child vitests side by side, each with its slice of the breakers. Default 1. */
  readonly slices?: number;
  /** Per child, in ms. Default 15 minutes. */
  readonly timeoutMs?: number;
  readonly breakers?: readonly Breaker[];
}

export interface BreakerCheck {
  /** The breakers that apply to the adapter, each run. */
  readonly applicable: readonly Breaker[];
  /** One line per breaker its group did not catch (empty when the suite caught every one). */
  readonly missed: readonly string[];
  /** What the child vitests printed, for a failure's message. */
  readonly output: string;
}

/**
 * Run the breaker suites of `config` in child vitests and say which breaker the suite missed: for
 * each, the group that checks its obligation must have failed.
 */
export async function checkBreakers(options: BreakerCheckOptions): Promise<BreakerCheck> {
  const { slices = 1, timeoutMs = 900_000, breakers = BREAKERS } = options;
  const reports = mkdtempSync(join(tmpdir(), "taskport-breakers-"));
  // Each child is expected to exit non-zero: every run in it breaks an obligation.
  const outputs = await Promise.all(
    Array.from({ length: slices }, (_, slice) => runChild(options.config, reports, `${slice}/${slices}`, timeoutMs)),
  );
  const applicable = applicableBreakers(options.capabilities, breakers);
  const missed: string[] = [];
  for (const breaker of applicable) {
    let report: ConformanceReport;
    try {
      report = JSON.parse(readFileSync(join(reports, `${options.name}~${breaker.name}.json`), "utf8"));
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
  return { applicable, missed, output: outputs.join("\n") };
}

function runChild(config: string, reports: string, slice: string, timeout: number): Promise<string> {
  const vitest = join(dirname(createRequire(config).resolve("vitest/package.json")), "vitest.mjs");
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [vitest, "run", "--config", config],
      {
        env: { ...process.env, TASKPORT_REPORT_DIR: reports, TASKPORT_BREAKER_SLICE: slice },
        maxBuffer: 64 * 1024 * 1024,
        timeout,
      },
      (_error, stdout, stderr) => resolve(`${stdout}\n${stderr}`),
    );
  });
}
