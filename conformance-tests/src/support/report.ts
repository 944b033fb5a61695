import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Capabilities } from "@taskport/core";
import type { GroupName } from "../harness.ts";

export type GroupOutcome =
  | { status: "passed"; tests: number }
  | { status: "failed"; tests: number; failed: string[] }
  | { status: "unsupported"; reason: string }
  | { status: "opted-out"; reason: string }
  | { status: "skipped"; reason: string };

/** The machine-readable result of one run: what passed, per group, for one adapter. */
export interface ConformanceReport {
  adapter: string;
  capabilities: Capabilities;
  generatedAt: string;
  groups: Partial<Record<GroupName, GroupOutcome>>;
}

export class ReportBuilder {
  readonly #report: ConformanceReport;
  readonly #results = new Map<GroupName, { passed: number; failed: string[] }>();

  constructor(adapter: string, capabilities: Capabilities) {
    this.#report = { adapter, capabilities, generatedAt: new Date().toISOString(), groups: {} };
  }

  notRun(group: GroupName, outcome: Exclude<GroupOutcome, { tests: number }>): void {
    this.#report.groups[group] = outcome;
  }

  record(group: GroupName, test: string, passed: boolean): void {
    const entry = this.#results.get(group) ?? { passed: 0, failed: [] };
    if (passed) entry.passed++;
    else entry.failed.push(test);
    this.#results.set(group, entry);
  }

  write(dir: string): string {
    for (const [group, { passed, failed }] of this.#results) {
      this.#report.groups[group] =
        failed.length === 0 ? { status: "passed", tests: passed } : { status: "failed", tests: passed + failed.length, failed };
    }
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `${this.#report.adapter}.json`);
    writeFileSync(file, `${JSON.stringify(this.#report, null, 2)}\n`);
    return file;
  }
}
