/**
 * `npm run bench -- [<engine> …] [--all] [--json <file>] [--smoke]`: run each engine's scenarios
 * (bench/src/engines/<engine>.ts). With no engine named, runs the memory engine's; `--all` runs
 * every engine's. `--json <file>` also writes the run's results file (./results-file.ts), from which
 * `npm run bench:chart` draws the README's chart; with `--update`, the engines measured replace
 * theirs in an existing file and the others stay. `--smoke` runs each scenario once with small
 * counts (./smoke.ts): CI's check that the benchmarks still run, its figures meaningless.
 */
import { readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import type { Scenario } from "./harness.ts";
import { runScenarios } from "./harness.ts";
import { type EngineResults, engineResults, machineAtStart, writeResults } from "./results-file.ts";
import { useSmokeSizes } from "./smoke.ts";

const dir = fileURLToPath(new URL("./engines/", import.meta.url));
const available = readdirSync(dir)
  .filter((file) => file.endsWith(".ts"))
  .map((file) => file.slice(0, -3))
  .sort();

const { values: flags, positionals: wanted } = parseArgs({
  allowPositionals: true,
  options: { all: { type: "boolean" }, json: { type: "string" }, update: { type: "boolean" }, smoke: { type: "boolean" } },
});
const engines = flags.all ? available : wanted.length > 0 ? wanted : ["memory"];
for (const engine of engines) {
  // Only files of this folder can be named: the argument picks a benchmark, never arbitrary code.
  if (!available.includes(engine)) {
    console.error(`unknown engine "${engine}". Available: ${available.join(", ")}`);
    process.exit(2);
  }
}
// Before any engine file is imported: each reads its counts from the environment at import.
if (flags.smoke) useSmokeSizes();

const start = machineAtStart();
const results: EngineResults[] = [];
for (const engine of engines) {
  const module: {
    title: string;
    scenarios: () => Promise<Scenario[]> | Scenario[];
    teardown?: () => Promise<void>;
    arms?: readonly [string, string];
  } = await import(`./engines/${engine}.ts`);
  const arms = module.arms ?? (["raw engine", "taskport"] as const);
  const began = performance.now();
  const scenarios = await runScenarios(module.title, await module.scenarios(), { arms });
  await module.teardown?.();
  // The smoke run's budget is time: say where it goes.
  if (flags.smoke) for (const s of scenarios) console.log(`  ${s.seconds.toFixed(1)} s  ${s.name}`);
  console.log(`(${engine}: ${((performance.now() - began) / 1000).toFixed(1)} s)`);
  results.push(engineResults({ engine, title: module.title, arms, scenarios }));
  // Written after each engine, so that a long run stopped part-way keeps what it measured.
  if (flags.json) writeResults(flags.json, { smoke: flags.smoke ?? false, update: flags.update ?? false, start, engines: results });
}
