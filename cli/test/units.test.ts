import { defineTask, ValidationError } from "@taskport/core";
import { describe, expect, it } from "vitest";
import { exitCodeOf, formatError } from "../src/cli-error.ts";
import { reportToMarkdown, totals } from "../src/conformance-report.ts";
import { parseDuration } from "../src/durations.ts";
import { isTask } from "../src/load-tasks.ts";
import { describe as describeJob, formatProgress } from "../src/progress-display.ts";

// In-process checks of the CLI's small pieces; the commands themselves are tested as child processes.

describe("durations", () => {
  it("reads bare seconds and units", () => {
    expect(parseDuration("30", "--grace")).toBe(30_000);
    expect(parseDuration("500ms", "--grace")).toBe(500);
    expect(parseDuration("1.5s", "--grace")).toBe(1500);
    expect(parseDuration("2m", "--grace")).toBe(120_000);
    expect(() => parseDuration("soon", "--grace")).toThrow('--grace must be a duration such as 30, 30s, 500ms or 5m, got "soon".');
  });
});

describe("task detection", () => {
  it("recognises tasks by shape only", () => {
    expect(isTask(defineTask("t", async () => null))).toBe(true);
    expect(isTask({ name: "t", handler: () => null })).toBe(false);
    expect(isTask(null)).toBe(false);
  });
});

describe("progress display", () => {
  it("draws a bar for a percentage and JSON otherwise", () => {
    expect(formatProgress(50)).toBe("[##########----------] 50%");
    expect(formatProgress(140)).toBe("[####################] 100%");
    expect(formatProgress({ done: 3, total: 9 })).toBe('{"done":3,"total":9}');
    const line = describeJob({
      id: "j1",
      name: "resize",
      queue: "q",
      status: "running",
      payload: null,
      attempt: 2,
      maxAttempts: 3,
      progress: 25,
    });
    expect(line).toBe("resize j1: running (attempt 2/3) [#####---------------] 25%");
  });
});

describe("errors", () => {
  it("one line unless verbose; exit codes by the error's code, whichever copy of core made it", () => {
    const error = new ValidationError("core", "bad thing; do this.\nsecond line");
    expect(formatError(error, false)).toBe("[taskport] [core] bad thing; do this.");
    expect(formatError(error, true)).toContain("\n    at ");
    expect(formatError(new Error("plain"), false)).toBe("taskport: plain");
    expect(exitCodeOf(error)).toBe(2);
    expect(exitCodeOf(Object.assign(new Error("x"), { code: "TASKPORT_UNSUPPORTED_FEATURE" }))).toBe(6);
    expect(exitCodeOf(new Error("x"))).toBe(1);
  });
});

describe("conformance report", () => {
  it("renders a markdown table and totals", () => {
    const report = {
      adapter: "x",
      capabilities: {} as never,
      generatedAt: "2026-01-01T00:00:00.000Z",
      groups: {
        roundTrip: { status: "passed" as const, tests: 8 },
        retries: { status: "failed" as const, tests: 3, failed: ["a | b"] },
        priority: { status: "unsupported" as const, reason: "no priority" },
      },
    };
    const markdown = reportToMarkdown(report);
    expect(markdown).toContain("| roundTrip | ✅ passed | 8 | |");
    expect(markdown).toContain("| retries | ❌ failed | 3 | a \\| b |");
    expect(markdown).toContain("| priority | ➖ unsupported | | no priority |");
    expect(totals(report)).toEqual({ passed: 10, failed: 1, groupsNotRun: 1 });
  });
});
