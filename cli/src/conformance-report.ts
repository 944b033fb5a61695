import type { ConformanceReport } from "@taskport/conformance";

/** The suite's JSON report as a markdown table: one row per group. */
export function reportToMarkdown(report: ConformanceReport): string {
  const rows = Object.entries(report.groups).map(([group, outcome]) => {
    if (!outcome) return `| ${group} | | | |`;
    switch (outcome.status) {
      case "passed":
        return `| ${group} | ✅ passed | ${outcome.tests} | |`;
      case "failed":
        return `| ${group} | ❌ failed | ${outcome.tests} | ${escapeCell(outcome.failed.join("; "))} |`;
      default:
        return `| ${group} | ➖ ${outcome.status} | | ${escapeCell(outcome.reason)} |`;
    }
  });
  return [
    `## Conformance: ${report.adapter}`,
    "",
    `Generated ${report.generatedAt}.`,
    "",
    "| group | result | tests | note |",
    "| --- | --- | ---: | --- |",
    ...rows,
    "",
  ].join("\n");
}

/** Passed and failed test counts over all groups. */
export function totals(report: ConformanceReport): { passed: number; failed: number; groupsNotRun: number } {
  let passed = 0;
  let failed = 0;
  let groupsNotRun = 0;
  for (const outcome of Object.values(report.groups)) {
    if (!outcome) continue;
    if (outcome.status === "passed") passed += outcome.tests;
    else if (outcome.status === "failed") {
      failed += outcome.failed.length;
      passed += outcome.tests - outcome.failed.length;
    } else groupsNotRun++;
  }
  return { passed, failed, groupsNotRun };
}

function escapeCell(text: string): string {
  return text.replaceAll("|", "\\|").replaceAll("\n", " ");
}
