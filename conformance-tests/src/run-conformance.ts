import type { Capabilities } from "@taskport/core";
import { afterAll, describe, expect, it, onTestFinished, test } from "vitest";
import { registerGroups } from "./groups/index.ts";
import type { ConformanceOptions, GroupName } from "./harness.ts";
import { Fixture } from "./support/fixture.ts";
import { ReportBuilder } from "./support/report.ts";

/** A capability-gated group, as the group files declare them. */
export interface SuiteContext {
  readonly options: ConformanceOptions;
  readonly capabilities: Capabilities;
  /** Registers a group: it runs only when `when` is true and the call site has not opted out. */
  group(name: GroupName, when: boolean | string, body: () => void): void;
  /** Registers one test with a fresh fixture, recorded in the report under `group`. */
  test(group: GroupName, title: string, body: (fixture: Fixture) => Promise<void>, timeoutMs?: number): void;
  /** Allowance for lateness in ms, scaled for engines that poll. */
  late(ms: number): number;
}

/**
 * Register the conformance suite for one adapter. Call it at the top level of a test file:
 *
 * ```ts
 * await runConformance({ name: "bullmq", createAdapter: ({ testId }) => new BullMQAdapter({ prefix: testId }) });
 * ```
 *
 * The engine must be reachable (the adapter's `check()` finds no problem). When it is not, the
 * suite is skipped with a loud message; with `CI=true` it fails instead, so CI never passes by
 * skipping an engine.
 */
export async function runConformance(options: ConformanceOptions): Promise<void> {
  const probe = await options.createAdapter({ testId: "probe" });
  const capabilities = probe.capabilities;
  const problems = (await probe.check?.().catch((error: unknown) => [{ message: String(error) }])) ?? [];
  await probe.close();

  if (problems.length > 0) {
    const message = `[taskport] conformance: ${options.name} is not reachable, so its suite cannot run:\n  ${problems.map((p) => p.message).join("\n  ")}`;
    if (process.env.CI === "true") {
      describe(`conformance: ${options.name}`, () => {
        it("engine is reachable (required in CI)", () => {
          throw new Error(message);
        });
      });
    } else {
      console.warn(
        `\n${"!".repeat(80)}\n${message}\n  SKIPPING it. Start the server (see docker-compose.yml) to run it.\n${"!".repeat(80)}\n`,
      );
      describe.skip(`conformance: ${options.name} (engine unreachable)`, () => {
        it("skipped", () => {});
      });
    }
    return;
  }

  const report = new ReportBuilder(options.name, capabilities);
  const scale = options.latencyScale ?? 1;
  const failedGroups = new Set<GroupName>();

  const context: SuiteContext = {
    options,
    capabilities,
    late: (ms) => Math.round(ms * scale),
    group(name, when, body) {
      if (options.only && !options.only.includes(name)) return;
      const optOut = options.optOut?.[name];
      if (optOut) {
        report.notRun(name, { status: "opted-out", reason: optOut });
        describe.skip(`${name} (opted out: ${optOut})`, body);
      } else if (when !== true) {
        const reason = typeof when === "string" ? when : "not supported by the adapter";
        report.notRun(name, { status: "unsupported", reason });
        describe.skip(`${name} (${reason})`, body);
      } else {
        describe(name, body);
      }
    },
    test(group, title, body, timeoutMs) {
      test(
        title,
        async ({ skip }) => {
          if (options.bail && failedGroups.has(group)) skip(`bail: the ${group} group has failed already`);
          const fixture = new Fixture(options, `${group}/${title}`);
          onTestFinished(async ({ task }) => {
            const passed = task.result?.state === "pass";
            if (!passed) failedGroups.add(group);
            report.record(group, title, passed);
            await fixture.cleanup(passed);
          });
          await body(fixture);
        },
        timeoutMs,
      );
    },
  };

  describe(`conformance: ${options.name}`, () => {
    if (options.capabilities) {
      it("declares the expected capabilities", () => {
        expect(capabilities).toMatchObject(options.capabilities as object);
      });
    }
    registerGroups(context);
  });

  afterAll(() => {
    const dir = options.reportDir ?? process.env.TASKPORT_REPORT_DIR ?? "conformance-report";
    report.write(dir);
  });
}
