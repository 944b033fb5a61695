import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Backend } from "@taskport/core";
import { expect, it } from "vitest";
import { SqliteAdapter } from "../src/index.ts";
import { crashTask } from "./fixtures/crash-task.ts";
import { tempFolder, until } from "./support.ts";

const dir = tempFolder("crash");
const workerScript = fileURLToPath(new URL("./fixtures/crash-worker.ts", import.meta.url));
const JOBS = 2_000;
const KILLS = 3;

/** What the worker processes recorded, from the log they append to: `kind` → job index → attempts. */
function runs(log: string, kind: "start" | "done"): Map<number, number[]> {
  const seen = new Map<number, number[]>();
  if (!existsSync(log)) return seen;
  for (const line of readFileSync(log, "utf8").split("\n")) {
    const [what, i, attempt] = line.split(" ");
    if (what !== kind || i === undefined || attempt === undefined) continue;
    seen.set(Number(i), [...(seen.get(Number(i)) ?? []), Number(attempt)]);
  }
  return seen;
}

function startWorkerProcess(file: string, log: string): { child: ChildProcess; ready: Promise<void> } {
  const child = spawn(process.execPath, ["--conditions=@taskport/source", workerScript, file, log], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout?.on("data", (chunk: Buffer) => {
      if (chunk.toString().includes("ready")) resolve();
    });
    child.once("exit", (code) => reject(new Error(`the worker process exited (${code}) before it was ready`)));
  });
  return { child, ready };
}

it(`${JOBS} jobs, the worker process killed with SIGKILL ${KILLS} times: every job runs, as counted outside the engine`, async () => {
  const file = join(dir, "crash.db");
  const log = join(dir, "runs.log");
  const producer = new Backend("producer", new SqliteAdapter({ filename: file }));
  await crashTask(async () => {})
    .using({ backend: producer })
    .enqueueMany(Array.from({ length: JOBS }, (_, i) => ({ i })));

  const distinct = () => runs(log, "done").size;
  for (let kill = 1; kill <= KILLS; kill++) {
    const { child, ready } = startWorkerProcess(file, log);
    await ready;
    const before = distinct();
    // Killed mid-run, with jobs leased and running, after it has done a share of the work.
    await until(() => distinct() >= before + JOBS / (KILLS + 2), 60_000, `progress before kill ${kill}`);
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGKILL");
    await exited;
  }
  expect(distinct()).toBeLessThan(JOBS); // the kills left work for the last worker

  const { child, ready } = startWorkerProcess(file, log);
  await ready;
  let succeeded = 0;
  try {
    await until(() => distinct() === JOBS, 60_000, `all ${JOBS} jobs to run (have ${distinct()})`);
    const deadline = Date.now() + 10_000;
    while (succeeded < JOBS && Date.now() < deadline) {
      succeeded = (await producer.stats(["crash"]))[0]?.counts.succeeded ?? 0;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  } finally {
    child.kill("SIGKILL");
  }
  expect(succeeded).toBe(JOBS);
  const done = runs(log, "done");
  expect([...done.keys()].sort((a, b) => a - b)).toEqual(Array.from({ length: JOBS }, (_, i) => i));
  // A job killed mid-run started again, and that start counted as an attempt.
  const again = [...runs(log, "start").values()].filter((attempts) => attempts.length > 1);
  expect(again.length).toBeGreaterThan(0);
  for (const attempts of again) expect(attempts).toEqual(attempts.map((_, n) => n + 1));
  const twice = [...done.values()].filter((attempts) => attempts.length > 1).length;
  console.log(
    `crash test: ${JOBS} jobs, ${KILLS} kills: every job ran; ${again.length} started again after a kill (attempt counted), ${twice} finished twice`,
  );
  await producer.close();
}, 240_000);
