/**
 * `npm run soak -- <engine> [--minutes N] [--rate R]`: a steady load for N minutes (default 1) on a
 * real server, with chaos, and every job counted in a ledger outside the engine. Not part of
 * `npm test`: CI runs it for a minute per engine.
 *
 * One producer process enqueues R jobs a second (default 100) over a direct connection. Three worker
 * processes take them through a TCP relay (@taskport/conformance's TcpRelay). Every few seconds one
 * thing goes wrong: a worker other than the steady one is killed with SIGKILL and another started,
 * or the relay cuts every connection, or it refuses new ones for a while. (Servers are not
 * restarted here: they are shared with other work on the machine; each engine's serviceRestart
 * conformance group restarts its own.) Then the chaos stops, the producer has finished, and the
 * workers drain what is left. The table: enqueued, completed, lost (enqueued, never completed),
 * duplicated (completed more than once: at-least-once delivery after a kill or a cut), p99
 * enqueue-to-start, and the steady worker's RSS at start and end. Exit code 1 when a job is lost or
 * the steady worker's RSS kept growing through the second half of the run.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { TcpRelay } from "@taskport/conformance";
import { tally } from "./ledger.ts";
import { engineUnderSoak, SOAKED_ENGINES } from "./soak-engines.ts";

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { minutes: { type: "string", default: "1" }, rate: { type: "string", default: "100" } },
});
const name = positionals[0];
if (!name || !SOAKED_ENGINES.includes(name)) {
  console.error(`usage: npm run soak -- <${SOAKED_ENGINES.join("|")}> [--minutes N] [--rate R]`);
  process.exit(2);
}
const minutes = Number(values.minutes);
const rate = Number(values.rate);
if (!(minutes > 0) || !(rate > 0)) {
  console.error("--minutes and --rate take positive numbers");
  process.exit(2);
}

const dir = mkdtempSync(join(tmpdir(), "taskport-soak-"));
const ledger = join(dir, "ledger.log");
const queue = `soak-${process.pid}-${Date.now().toString(36)}`;
const engine = await engineUnderSoak(name, dir);
const relay = engine.network ? await TcpRelay.start(engine.target) : undefined;
const workerUrl = relay ? relay.urlOf(engine.url) : engine.url;

const here = (file: string) => new URL(file, import.meta.url).pathname;
function spawnProcess(script: string, args: string[]): ChildProcess {
  return spawn(process.execPath, ["--conditions=@taskport/source", here(script), ...args], {
    stdio: ["ignore", "pipe", "inherit"],
  });
}

function startWorker(role: "steady" | "chaos"): Promise<ChildProcess> {
  const child = spawnProcess("./worker-process.ts", [workerUrl, queue, ledger, role]);
  return new Promise((resolve, reject) => {
    child.stdout?.on("data", (chunk: Buffer) => {
      if (chunk.toString().includes("ready")) resolve(child);
    });
    child.once("exit", (code, signal) => reject(new Error(`a ${role} worker exited (${code ?? signal}) before it was ready`)));
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)] as T;

const steady = await startWorker("steady");
const chaotic = [await startWorker("chaos"), await startWorker("chaos")];
const producer = spawnProcess("./producer-process.ts", [engine.url, queue, ledger, String(rate), String(minutes * 60)]);
const produced = new Promise<void>((resolve) => producer.once("exit", () => resolve()));
const counts = { kills: 0, cuts: 0, refusals: 0 };

console.log(`soak: ${name}, ${minutes} min at ${rate} jobs/s, queue ${queue}${relay ? ", workers through a TCP relay" : ""}`);
let producing = true;
void produced.then(() => {
  producing = false;
});
while (producing) {
  await sleep(3_000 + Math.random() * 3_000);
  if (!producing) break;
  const actions = relay ? (["kill", "cut", "refuse"] as const) : (["kill"] as const);
  const action = pick(actions);
  if (action === "kill") {
    const index = Math.floor(Math.random() * chaotic.length);
    const victim = chaotic[index] as ChildProcess;
    const exited = new Promise((resolve) => victim.once("exit", resolve));
    victim.kill("SIGKILL");
    await exited;
    counts.kills++;
    chaotic[index] = await startWorker("chaos");
  } else if (action === "cut") {
    relay?.cut();
    counts.cuts++;
  } else {
    await relay?.refuse();
    counts.refusals++;
    await sleep(1_000 + Math.random() * 2_000);
    await relay?.restore();
  }
}

// Drain: no more chaos; wait until every enqueued job has completed, or give up after a while.
const drainMs = engine.drainMs;
const drainStart = Date.now();
let last = tally(ledger);
while (Date.now() - drainStart < drainMs) {
  last = tally(ledger);
  if ([...last.enqueued].every((i) => last.done.has(i))) break;
  await sleep(1_000);
}
for (const child of [steady, ...chaotic]) child.kill("SIGTERM");
await Promise.all([steady, ...chaotic].map((child) => new Promise((resolve) => child.once("exit", resolve))));
await relay?.close();
await engine.stop();
last = tally(ledger);

const lost = [...last.enqueued].filter((i) => !last.done.has(i));
const duplicated = [...last.done.values()].filter((n) => n > 1).length;
const starts = [...last.firstStartMs.values()].sort((a, b) => a - b);
const p99 = starts.length > 0 ? (starts[Math.min(starts.length - 1, Math.floor(starts.length * 0.99))] as number) : Number.NaN;
const mb = (bytes: number | undefined) => (bytes === undefined ? "—" : `${(bytes / 1024 / 1024).toFixed(0)} MB`);
console.log(`chaos: ${counts.kills} workers killed, ${counts.cuts} cuts, ${counts.refusals} refusals`);
console.log("| engine | enqueued | completed | lost | duplicated | p99 enqueue-to-start | steady worker RSS, start → end |");
console.log("|---|---|---|---|---|---|---|");
console.log(
  `| ${name} | ${last.enqueued.size} | ${last.done.size} | ${lost.length} | ${duplicated} | ${p99} ms | ${mb(last.steadyRss[0])} → ${mb(last.steadyRss.at(-1))} |`,
);
if (lost.length > 0) console.log(`lost jobs (first 20): ${lost.slice(0, 20).join(", ")}`);
// Growth without bound, as far as a run of minutes can show it. A worker's heap grows to its working
// set in the first minute and stays there (an SQS worker here: 120 MB, then 267 MB from the second
// minute of ten on), so the end is compared with the middle of the run, not its start: the second
// half may add half again, plus 64 MB the collector has not given back yet.
const rssMiddle = last.steadyRss[Math.floor(last.steadyRss.length / 2)];
const rssEnd = last.steadyRss.at(-1);
const swollen = rssMiddle !== undefined && rssEnd !== undefined && rssEnd > 1.5 * rssMiddle + 64 * 1024 * 1024;
if (swollen) console.log(`the steady worker's RSS grew from ${mb(rssMiddle)} halfway to ${mb(rssEnd)} at the end`);
rmSync(dir, { recursive: true, force: true });
process.exit(lost.length > 0 || swollen ? 1 : 0);
