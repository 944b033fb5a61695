/**
 * The benchmark harness: each scenario runs the same workload through taskport and through the
 * raw engine library, in the same process and the same run, alternating the two arms round by
 * round so that machine noise falls on both. Each arm first runs once unrecorded, so that neither
 * pays for compiling its code (or opening connections) inside a measured round: the table shows
 * steady-state figures. It prints a table of medians and their ratio.
 * Nothing here asserts a speed: targets are read off the table, never timed in unit tests.
 */

export interface Scenario {
  /** What is measured, e.g. "end-to-end, concurrency 50". */
  readonly name: string;
  readonly unit: "jobs/s" | "ms" | "MB";
  /** Throughput: higher is better (ratio = taskport / raw). Latency or memory: lower is better. */
  readonly higherIsBetter: boolean;
  /** One measurement through taskport. */
  readonly taskport: () => Promise<number>;
  /** The same workload through the engine library alone; absent when there is no raw equivalent. */
  readonly raw?: () => Promise<number>;
}

export interface ScenarioResult {
  readonly name: string;
  readonly unit: string;
  readonly higherIsBetter: boolean;
  /** The medians. */
  readonly raw?: number;
  readonly taskport: number;
  /** taskport ÷ raw. */
  readonly ratio?: number;
  /** Every recorded round of each arm, in the order run. */
  readonly rounds: { readonly raw: readonly number[]; readonly taskport: readonly number[] };
  /** Wall time of the whole scenario, warm-up rounds included. */
  readonly seconds: number;
}

export interface RunOptions {
  /** Rounds per arm; the median is reported. Default 3 (`BENCH_ROUNDS`). */
  readonly rounds?: number;
  /** Unrecorded rounds per arm before those. Default 1 (`BENCH_WARMUP`). */
  readonly warmup?: number;
  /**
   * What the two arms are, for the table's header: the `raw` arm's name, then the `taskport` arm's.
   * Default "raw engine" and "taskport"; a file comparing taskport with itself (a job store beside
   * the engine or not) names its arms.
   */
  readonly arms?: readonly [string, string];
}

export async function runScenarios(title: string, scenarios: readonly Scenario[], options: RunOptions = {}): Promise<ScenarioResult[]> {
  const rounds = options.rounds ?? Number(process.env.BENCH_ROUNDS ?? 3);
  const warmup = options.warmup ?? Number(process.env.BENCH_WARMUP ?? 1);
  const results: ScenarioResult[] = [];
  console.log(`\n## ${title}  (median of ${rounds} rounds after ${warmup} unrecorded, arms alternated)\n`);
  for (const scenario of scenarios) {
    const began = performance.now();
    for (let round = 0; round < warmup; round++) {
      await scenario.raw?.();
      await scenario.taskport();
    }
    const raw: number[] = [];
    const ours: number[] = [];
    for (let round = 0; round < rounds; round++) {
      // Alternate which arm goes first, so warm-up and drift do not favour one side.
      if (round % 2 === 0) {
        if (scenario.raw) raw.push(await scenario.raw());
        ours.push(await scenario.taskport());
      } else {
        ours.push(await scenario.taskport());
        if (scenario.raw) raw.push(await scenario.raw());
      }
    }
    const taskport = median(ours);
    const rawMedian = scenario.raw ? median(raw) : undefined;
    const result: ScenarioResult = {
      name: scenario.name,
      unit: scenario.unit,
      higherIsBetter: scenario.higherIsBetter,
      taskport,
      ...(rawMedian !== undefined ? { raw: rawMedian, ratio: taskport / rawMedian } : {}),
      rounds: { raw, taskport: ours },
      seconds: Math.round(performance.now() - began) / 1000,
    };
    results.push(result);
  }
  printTable(results, options.arms ?? ["raw engine", "taskport"]);
  return results;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** The p-th percentile (0–100) of a list of samples. */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index] as number;
}

/** Jobs per second for `count` jobs done in `ms`. */
export function perSecond(count: number, ms: number): number {
  return (count / ms) * 1000;
}

function printTable(results: readonly ScenarioResult[], [rawArm, ourArm]: readonly [string, string]): void {
  const rows = results.map((r) => [
    r.name,
    r.raw === undefined ? "—" : format(r.raw, r.unit),
    format(r.taskport, r.unit),
    r.ratio === undefined
      ? "—"
      : r.unit === "ms"
        ? `${r.ratio.toFixed(2)}× (${signed(r.taskport - (r.raw ?? 0))} ms)`
        : `${r.ratio.toFixed(3)}×`,
  ]);
  const header = ["scenario", rawArm, ourArm, `${ourArm} ÷ ${rawArm}`];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] as string).length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i] as number)).join(" | ")} |`;
  console.log(line(header));
  console.log(`|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`);
  for (const row of rows) console.log(line(row));
}

function format(value: number, unit: string): string {
  if (unit === "ms") return `${value.toFixed(2)} ms`;
  if (unit === "MB") return `${value.toFixed(0)} MB`;
  return `${Math.round(value).toLocaleString("en-US")} ${unit}`;
}

function signed(value: number): string {
  return `${value >= 0 ? "+" : ""}${value.toFixed(2)}`;
}

/** Jobs per second of `work`, which handles `count` jobs: the timing every throughput scenario does. */
export async function timedRate(count: number, work: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await work();
  return perSecond(count, performance.now() - start);
}

/** Run `one(0)` … `one(count - 1)` with `width` calls in flight at a time. */
export async function inParallel(count: number, width: number, one: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < count) await one(next++);
    }),
  );
}

/** Counts finished jobs: `done` resolves at the `count`-th `tick()`, the end of a drained backlog. */
export function countdown(count: number): { tick(by?: number): void; readonly done: Promise<void> } {
  let left = count;
  let finish!: () => void;
  const done = new Promise<void>((resolve) => {
    finish = resolve;
  });
  return {
    tick(by = 1) {
      left -= by;
      if (left <= 0) finish();
    },
    done,
  };
}

/** Marks job starts for {@link enqueueToStart}: handlers call `started()`. */
export class StartSignal {
  #resolve: ((at: number) => void) | undefined;

  readonly started = (): void => {
    this.#resolve?.(performance.now());
    this.#resolve = undefined;
  };

  /** The time of the next `started()`. */
  next(): Promise<number> {
    return new Promise((resolve) => {
      this.#resolve = resolve;
    });
  }
}

/**
 * Enqueue-to-start latency samples in ms: `count` jobs sent one at a time by `send(i)`, each waited
 * for until its handler calls `signal.started()`, with `pause()` between so that every job meets an
 * idle worker.
 */
export async function enqueueToStart(
  count: number,
  signal: StartSignal,
  send: (i: number) => Promise<unknown>,
  pause: () => Promise<void>,
): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < count; i++) {
    const startedAt = signal.next();
    const sent = performance.now();
    await send(i);
    samples.push((await startedAt) - sent);
    await pause();
  }
  return samples;
}
