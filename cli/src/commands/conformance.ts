import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { ConformanceReport } from "@taskport/conformance";
import { parseBackendUrl, redactUrl } from "@taskport/core";
import type { Command } from "commander";
import { CliError } from "../cli-error.ts";
import { reportToMarkdown, totals } from "../conformance-report.ts";
import { EXIT } from "../exit-codes.ts";

interface ConformanceFlags {
  url: string;
  name?: string;
  json?: string;
  markdown?: string;
  optOut?: string[];
  latencyScale: string;
}

export function registerConformance(program: Command): void {
  program
    .command("conformance")
    .description("run the taskport conformance suite against an engine URL (needs vitest installed)")
    .requiredOption("-u, --url <url>", "engine URL to test; tests use their own queues, so a shared server is fine")
    .option("-n, --name <name>", "name in the report (default: the URL's scheme)")
    .option("--json <file>", "write the JSON report here")
    .option("--markdown <file>", "write the report as a markdown table here")
    .option("--opt-out <group=reason...>", "skip a group, with the reason shown in the report")
    .option("--latency-scale <n>", "multiply the suite's lateness allowances (for engines that poll)", "1")
    .addHelpText(
      "after",
      `
Examples:
  $ taskport conformance --url memory://
  $ taskport conformance --url postgres://app@127.0.0.1:5432/app --latency-scale 3 --markdown report.md
  $ taskport conformance --url bullmq://redis.internal:6379 --json report.json --opt-out "serviceRestart=managed Redis"

Tests that need a harness (restarting the server, transactions) are skipped and listed as such.`,
    )
    .action((flags: ConformanceFlags) => runConformanceCommand(flags));
}

async function runConformanceCommand(flags: ConformanceFlags): Promise<void> {
  const url = parseBackendUrl(flags.url);
  const name = flags.name ?? url.protocol.replace(/:$/, "");
  if (!/^[A-Za-z0-9._-]+$/.test(name)) throw new CliError(`--name must be letters, digits, ".", "_" or "-", got "${name}".`);
  const latencyScale = Number(flags.latencyScale);
  if (!(latencyScale >= 1)) throw new CliError(`--latency-scale must be a number ≥ 1, got "${flags.latencyScale}".`);
  const optOut: Record<string, string> = {};
  for (const entry of flags.optOut ?? []) {
    const [group, ...reason] = entry.split("=");
    if (!group || reason.length === 0)
      throw new CliError(`--opt-out takes group=reason, e.g. "serviceRestart=managed server", got "${entry}".`);
    optOut[group] = reason.join("=");
  }

  let vitestNode: typeof import("vitest/node");
  try {
    vitestNode = await import("vitest/node");
  } catch (error) {
    throw new CliError("taskport conformance needs vitest: npm install --save-dev vitest", EXIT.usage, { cause: error });
  }

  const dir = mkdtempSync(join(tmpdir(), "taskport-conformance-"));
  const file = join(dir, "conformance.test.mjs");
  writeFileSync(file, testFile({ memory: url.protocol === "memory:", name, dir, latencyScale, optOut }));
  // The URL reaches the test file through the environment, so a password is never written to disk.
  process.env.TASKPORT_CONFORMANCE_URL = flags.url;
  process.stderr.write(`running the conformance suite against ${redactUrl(url)} …\n`);
  const exitCodeBefore = process.exitCode;
  try {
    const vitest = await vitestNode.startVitest(
      "test",
      [],
      {
        root: dir,
        include: [file],
        config: false,
        watch: false,
        testTimeout: 60_000,
        hookTimeout: 60_000,
        reporters: [["default", { summary: false }]],
      },
      {},
      // vitest's progress goes to stderr: stdout carries only the report.
      { stdout: process.stderr },
    );
    await vitest.close();
    const vitestFailed = process.exitCode !== undefined && process.exitCode !== 0 && process.exitCode !== exitCodeBefore;
    process.exitCode = exitCodeBefore;

    const reportFile = join(dir, `${name}.json`);
    if (!existsSync(reportFile))
      throw new CliError(`the suite did not run (no report was written); see vitest's output above.`, EXIT.failed);
    const report = JSON.parse(readFileSync(reportFile, "utf8")) as ConformanceReport;
    if (flags.json) writeFileSync(flags.json, `${JSON.stringify(report, null, 2)}\n`);
    const markdown = reportToMarkdown(report);
    if (flags.markdown) writeFileSync(flags.markdown, markdown);
    process.stdout.write(`\n${markdown}\n`);
    const { passed, failed, groupsNotRun } = totals(report);
    process.stdout.write(`${passed} passed, ${failed} failed, ${groupsNotRun} group(s) not run\n`);
    if (failed > 0 || vitestFailed) throw new CliError(`${name} does not conform: ${failed} test(s) failed (listed above).`, EXIT.failed);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

interface TestFileOptions {
  memory: boolean;
  name: string;
  dir: string;
  latencyScale: number;
  optOut: Record<string, string>;
}

/** The one-call test file the suite needs, pointing at the CLI's own copies of core and the suite. */
function testFile(o: TestFileOptions): string {
  const conformance = fileURLToPath(import.meta.resolve("@taskport/conformance"));
  const core = fileURLToPath(import.meta.resolve("@taskport/core"));
  const memory = o.memory;
  return `import { runConformance } from ${JSON.stringify(conformance)};
import { Backend, MemoryAdapter } from ${JSON.stringify(core)};

// Adapters made for one test must reach the same engine; for the in-process engine that is one object.
const engines = new Map();
await runConformance({
  name: ${JSON.stringify(o.name)},
  reportDir: ${JSON.stringify(o.dir)},
  latencyScale: ${o.latencyScale},
  optOut: ${JSON.stringify({ ...(memory ? { serviceRestart: "in-process: there is no server to restart" } : {}), ...o.optOut })},
  createAdapter: ${
    memory
      ? `({ testId }) => {
    const engine = engines.get(testId) ?? new MemoryAdapter();
    engines.set(testId, engine);
    return engine;
  }`
      : `() => new Backend("conformance", process.env.TASKPORT_CONFORMANCE_URL).adapter()`
  },
});
`;
}
