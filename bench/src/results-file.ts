/**
 * The results file of a run (`--json <file>`): every scenario's medians and ratio with the rounds
 * behind them, and the facts of the machine that measured them, so that a figure is never read
 * without knowing how loaded the machine was. The README's chart is drawn from it
 * (scripts/bench-chart.ts).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, freemem, loadavg, totalmem } from "node:os";
import { dirname } from "node:path";
import type { ScenarioResult } from "./harness.ts";

export interface EngineResults {
  /** The engine file's name: "bullmq", "memory", … */
  readonly engine: string;
  readonly title: string;
  /** The `raw` arm's name, then the `taskport` arm's. */
  readonly arms: readonly [string, string];
  readonly scenarios: readonly ScenarioResult[];
  /** When this engine's scenarios ended, and the 1-minute load average then: engines of one file may come from separate runs (`--update`). */
  readonly date: string;
  readonly loadAtEnd: number;
}

export interface ResultsFile {
  readonly date: string;
  readonly smoke: boolean;
  readonly rounds: number;
  readonly warmup: number;
  /** Every `BENCH_*` count the run was given; the rest are the engine files' defaults (see the scenario names). */
  readonly sizes: Record<string, string>;
  readonly machine: {
    readonly cpus: number;
    readonly cpuModel: string;
    readonly memoryGB: number;
    readonly node: string;
    readonly platform: string;
    /** The 1-, 5- and 15-minute load averages at the start and at the end of the run. */
    readonly loadAtStart: readonly number[];
    readonly loadAtEnd: readonly number[];
    readonly freeMemoryGBAtStart: number;
  };
  readonly engines: readonly EngineResults[];
}

export function machineAtStart(): { loadAtStart: number[]; freeMemoryGBAtStart: number } {
  return { loadAtStart: roundedLoad(), freeMemoryGBAtStart: round(freemem() / 1e9) };
}

/** An engine's results, stamped with the time and the load as it finished. */
export function engineResults(fields: Omit<EngineResults, "date" | "loadAtEnd">): EngineResults {
  return { ...fields, date: new Date().toISOString(), loadAtEnd: roundedLoad()[0] as number };
}

/**
 * Write the run's results to `file`. With `update`, an existing file keeps its other engines'
 * results (an engine measured again after a change replaces its own) and its machine facts.
 */
export function writeResults(
  file: string,
  run: { smoke: boolean; update: boolean; start: ReturnType<typeof machineAtStart>; engines: EngineResults[] },
): void {
  const previous = run.update && existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as ResultsFile) : undefined;
  const measured = new Set(run.engines.map((e) => e.engine));
  const engines = [...(previous?.engines.filter((e) => !measured.has(e.engine)) ?? []), ...run.engines].sort((a, b) =>
    a.engine.localeCompare(b.engine),
  );
  const results: ResultsFile = {
    date: new Date().toISOString(),
    smoke: run.smoke,
    rounds: Number(process.env.BENCH_ROUNDS ?? 3),
    warmup: Number(process.env.BENCH_WARMUP ?? 1),
    sizes: Object.fromEntries(
      Object.entries(process.env)
        .filter(([name]) => name.startsWith("BENCH_") && name !== "BENCH_ROUNDS" && name !== "BENCH_WARMUP")
        .sort(([a], [b]) => a.localeCompare(b)) as [string, string][],
    ),
    machine: {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model.trim() ?? "unknown",
      memoryGB: round(totalmem() / 1e9),
      node: process.version,
      platform: `${process.platform} ${process.arch}`,
      loadAtStart: run.start.loadAtStart,
      loadAtEnd: roundedLoad(),
      freeMemoryGBAtStart: run.start.freeMemoryGBAtStart,
    },
    engines,
  };
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  console.log(`\nresults written to ${file}`);
}

function roundedLoad(): number[] {
  return loadavg().map(round);
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}
