/**
 * Generate the README's compatibility matrix from the conformance suite's JSON reports
 * (`conformance-report/*.json`, written by every `npm test`). Rewrites the block between the
 * `<!-- compat-matrix:start -->` and `<!-- compat-matrix:end -->` markers; `--check` only
 * reports whether it is up to date.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

type Outcome = { status: "passed" | "failed" | "unsupported" | "opted-out" | "skipped"; tests?: number; reason?: string };
interface Report {
  adapter: string;
  capabilities?: { deduplication?: string | false };
  groups: Record<string, Outcome>;
}

const GROUPS: [string, string][] = [
  ["roundTrip", "Round trip & payload fidelity"],
  ["queueIsolation", "Queue isolation"],
  ["concurrency", "Concurrency limit"],
  ["competingWorkers", "Competing workers"],
  ["retries", "Retries & backoff"],
  ["permanentFailure", "Permanent failure"],
  ["timeouts", "Timeouts"],
  ["gracefulShutdown", "Graceful shutdown"],
  ["crashRecovery", "Crash recovery"],
  ["crashAttempts", "Crash counted as an attempt"],
  ["delay", "Delay"],
  ["longDelay", "Delay past native limit"],
  ["priority", "Priority"],
  ["results", "Results & status"],
  ["cancel", "Cancel"],
  ["deduplication", "Deduplication"],
  ["bulkEnqueue", "Bulk enqueue"],
  ["validation", "Validation errors"],
  ["connection", "Lazy connection & check()"],
  ["serviceRestart", "Server restart"],
  ["networkFaults", "Network faults"],
  ["blackHole", "Black-holed connections"],
  ["events", "Events"],
  ["transactions", "Transactional enqueue"],
  ["progress", "Progress"],
  ["fifo", "FIFO"],
  ["deadLetter", "Dead letter"],
  ["headers", "Job headers"],
  ["retention", "Retention of finished jobs"],
  ["stats", "Queue stats"],
  ["listJobs", "Job listing"],
  ["redrive", "Dead-letter redrive"],
  ["discardDeadLetters", "Dead-letter discard"],
  ["pause", "Pause & resume"],
  ["schedules", "Schedules (one run per tick)"],
];
const ORDER = ["memory", "sqlite", "bullmq", "bullmq-postgres", "bee-queue", "pg-boss", "rabbitmq", "sqs", "sqs-fifo", "nats"];

const dir = process.env.TASKPORT_REPORT_DIR ?? "conformance-report";
if (!existsSync(dir)) {
  console.error(`no reports in ${dir}/: run npm test first`);
  process.exit(1);
}
const reports: Report[] = readdirSync(dir)
  .filter((file) => file.endsWith(".json"))
  .map((file) => JSON.parse(readFileSync(join(dir, file), "utf8")) as Report)
  // Runs named with "~" test the suite or the core itself (a breaker, a test double), not an engine.
  .filter((report) => !report.adapter.includes("~"))
  .sort((a, b) => rank(a.adapter) - rank(b.adapter) || a.adapter.localeCompare(b.adapter));

/** An engine's place; an engine with a companion ("rabbitmq+redis") comes right after the engine. */
function rank(name: string): number {
  const engine = name.split("+")[0] as string;
  const index = ORDER.indexOf(engine);
  return index < 0 ? ORDER.length : index;
}

/**
 * A group that does not apply is not a missing feature: no native delay limit to go past, or no
 * network connection to fault (an in-process engine).
 */
function notApplicable(group: string, outcome: Outcome | undefined): boolean {
  if (outcome?.status !== "unsupported") return false;
  const reason = outcome.reason ?? "";
  if (group === "longDelay") return /no native delay limit/.test(reason);
  if (group === "networkFaults" || group === "blackHole") return /no network connection/.test(reason);
  return false;
}

function cell(group: string, outcome: Outcome | undefined): string {
  if (notApplicable(group, outcome)) return "n/a";
  if (!outcome) return "·";
  switch (outcome.status) {
    case "passed":
      return "✅";
    case "failed":
      return "❌";
    case "unsupported":
      return "—";
    case "opted-out":
      return "n/a";
    default:
      return "·";
  }
}

/** A capability with several meanings shows which one an engine gives, where it is not taskport's own. */
function meaning(group: string, report: Report): string {
  const value = report.capabilities?.deduplication;
  if (group !== "deduplication" || !value || value === "until-finished") return "";
  return ` ${value.replace("-", " ")}`;
}

// A group no report knows (reports written before the group existed) gets no row rather than a
// row of blanks, so adding a group does not make the README out of date until its reports come.
const lines = [
  `| Conformance group | ${reports.map((r) => r.adapter).join(" | ")} |`,
  `|---|${reports.map(() => ":-:").join("|")}|`,
  ...GROUPS.filter(([key]) => reports.some((r) => key in r.groups)).map(
    ([key, label]) => `| ${label} | ${reports.map((r) => `${cell(key, r.groups[key])}${meaning(key, r)}`).join(" | ")} |`,
  ),
  "",
  "",
  "Deduplication holds a key until its job has finished, except where the cell names another meaning: *while stored* (as long as the engine keeps the job's record) or *window* (a fixed time after the first enqueue); the suite tests each meaning.",
  "✅ passes the suite's tests · ❌ fails · — not supported by the engine (refused with `UnsupportedFeatureError`) · n/a not applicable (reason below, or no native delay limit to go past, or no network connection to fault: an in-process engine) · generated by `npm run matrix` from `conformance-report/*.json`",
];
const notes = reports.flatMap((r) =>
  Object.entries(r.groups)
    .filter(([group, o]) => !notApplicable(group, o))
    .filter(([, o]) => o.status === "opted-out" || (o.status === "unsupported" && o.reason && o.reason !== "not supported by the adapter"))
    .map(([group, o]) => `- **${r.adapter}**, ${GROUPS.find(([k]) => k === group)?.[1] ?? group}: ${o.reason}`),
);
const block = [...lines, ...(notes.length ? ["", ...notes] : [])].join("\n");

const readme = readFileSync("README.md", "utf8");
const start = "<!-- compat-matrix:start -->";
const end = "<!-- compat-matrix:end -->";
const [before, rest] = readme.split(start);
const after = rest?.split(end)[1];
if (before === undefined || after === undefined) {
  console.error("README.md has no compat-matrix markers");
  process.exit(1);
}
const next = `${before}${start}\n${block}\n${end}${after}`;
if (process.argv.includes("--check")) {
  if (next !== readme) {
    console.error("README's compatibility matrix is out of date: run npm run matrix");
    process.exit(1);
  }
  console.log("README's compatibility matrix is up to date");
} else {
  writeFileSync("README.md", next);
  console.log(`matrix written for ${reports.map((r) => r.adapter).join(", ")}`);
}
