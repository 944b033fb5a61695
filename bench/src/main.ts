/**
 * `npm run bench -- <engine> [<engine> …]`: run each engine's scenarios (bench/src/engines/<engine>.ts).
 * With no engine named, runs the memory engine's.
 */
import { readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { Scenario } from "./harness.ts";
import { runScenarios } from "./harness.ts";

const dir = fileURLToPath(new URL("./engines/", import.meta.url));
const available = readdirSync(dir)
  .filter((file) => file.endsWith(".ts"))
  .map((file) => file.slice(0, -3));

const wanted = process.argv.slice(2);
const engines = wanted.length > 0 ? wanted : ["memory"];
for (const engine of engines) {
  // Only files of this folder can be named: the argument picks a benchmark, never arbitrary code.
  if (!available.includes(engine)) {
    console.error(`unknown engine "${engine}". Available: ${available.join(", ")}`);
    process.exit(2);
  }
}
for (const engine of engines) {
  const module: {
    title: string;
    scenarios: () => Promise<Scenario[]> | Scenario[];
    teardown?: () => Promise<void>;
    arms?: readonly [string, string];
  } = await import(`./engines/${engine}.ts`);
  await runScenarios(module.title, await module.scenarios(), module.arms ? { arms: module.arms } : {});
  await module.teardown?.();
}
