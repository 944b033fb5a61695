/**
 * taskport's SQLite engine (node:sqlite) against the SQLite-backed Node queues on npm, side by side
 * in one run, each arm on a fresh file per round, all in this Node 24 process:
 * - plainjob 0.0.14 over better-sqlite3 ("15k jobs/s"): `addMany`, and one `defineWorker` loop per
 *   slot (a plainjob worker runs one job at a time), polling every 10 ms (its default is 1 s).
 * - Sidequest 1.16 with @sidequest/sqlite-backend: `Sidequest.build(Job).enqueue()` (it has no bulk
 *   enqueue), its engine in this process (`fork: false`, `runner: "inline"`) with `concurrency`
 *   slots, polling every 10 ms (its default is 100 ms). Its migration asks for WAL inside a
 *   transaction, where SQLite ignores the request, so it runs with a rollback journal and a disk sync
 *   per commit (~36 enqueues/s here); the arm gives it WAL and synchronous=NORMAL through its knex
 *   pool, as taskport and plainjob have.
 * The peers are installed apart from the workspace: `npm run peers:sqlite -w bench` (bench/peers/sqlite).
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Backend, defineTask, startWorker } from "@taskport/core";
import { SqliteAdapter } from "@taskport/sqlite";
import type { Scenario } from "../harness.ts";
import { countdown, enqueueToStart, percentile, StartSignal, timedRate } from "../harness.ts";

export const title = "SQLite: taskport (node:sqlite) vs plainjob and Sidequest (better-sqlite3)";

const JOBS = Number(process.env.BENCH_SQLITE_JOBS ?? 20_000);
/** Sidequest enqueues one job per statement, some hundreds per second: its rounds are smaller. */
const SIDEQUEST_JOBS = Number(process.env.BENCH_SQLITE_SIDEQUEST_JOBS ?? 2_000);
const BULK = Number(process.env.BENCH_SQLITE_BULK ?? 50_000);
const LATENCY_SAMPLES = Number(process.env.BENCH_SQLITE_LATENCY ?? 200);
const CONCURRENCY = 10;
const CHUNK = 1_000;
/** plainjob's and Sidequest's polling interval, at its quickest sensible setting. */
const POLL_MS = 10;
const QUEUE = "bench";
const QUIET = { error: console.error, warn: console.warn, info() {}, debug() {} };

// ── the peers, from bench/peers/sqlite ─────────────────────────────────────────

interface PlainQueue {
  add(type: string, data: unknown): { id: number };
  addMany(type: string, data: unknown[]): { ids: number[] };
  close(): void;
}
interface PlainWorker {
  start(): Promise<void>;
  stop(): Promise<void>;
}
interface SidequestJobBuilder {
  queue(name: string): SidequestJobBuilder;
  enqueue(...args: unknown[]): Promise<unknown>;
}
interface Peers {
  Database: new (file: string) => unknown;
  better(db: unknown): unknown;
  defineQueue(options: { connection: unknown; logger: object }): PlainQueue;
  defineWorker(type: string, run: () => Promise<void>, options: { queue: PlainQueue; logger: object; pollIntervall: number }): PlainWorker;
  Sidequest: {
    start(config: object): Promise<void>;
    configure(config: object): Promise<unknown>;
    stop(): Promise<void>;
    build(job: unknown): SidequestJobBuilder;
  };
  NoopJob: unknown;
  sidequestRuns: { onRun: () => void };
}

const peersDir = fileURLToPath(new URL("../../peers/sqlite/", import.meta.url));
if (!existsSync(join(peersDir, "node_modules"))) {
  console.error("The sqlite benchmark's peers are not installed. Run: npm run peers:sqlite -w bench");
  process.exit(2);
}
const peers = (await import(pathToFileURL(join(peersDir, "peers.mjs")).href)) as Peers;

const dir = mkdtempSync(join(tmpdir(), "taskport-bench-sqlite-"));
let fileNumber = 0;

/** A database file of its own for one round of one arm. */
function freshFile(arm: string): string {
  return join(dir, `${arm}-${++fileNumber}.db`);
}

function removeFile(file: string): void {
  for (const suffix of ["", "-wal", "-shm"]) rmSync(`${file}${suffix}`, { force: true });
}

function chunks(count: number): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < count; i += CHUNK) out.push(Array.from({ length: Math.min(CHUNK, count - i) }, (_, j) => i + j));
  return out;
}

/**
 * A pause between latency samples, so that each job meets an idle worker rather than one still
 * looping after the previous job.
 */
function idleGap(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 20 + Math.random() * 30));
}

// ── taskport ───────────────────────────────────────────────────────────────────

async function withTaskport<T>(
  onRun: () => void,
  work: (task: ReturnType<typeof noopTask>, backend: Backend) => Promise<T>,
  withWorker: boolean,
): Promise<T> {
  const file = freshFile("taskport");
  const adapter = new SqliteAdapter({ filename: file });
  const backend = new Backend("bench", adapter);
  await adapter.check(); // opens the file and creates the tables, outside the measured part
  const task = noopTask(backend, onRun);
  const worker = withWorker ? await startWorker({ tasks: [task], backend, concurrency: CONCURRENCY }) : undefined;
  try {
    return await work(task, backend);
  } finally {
    await worker?.close();
    await backend.close();
    removeFile(file);
  }
}

function noopTask(backend: Backend, onRun: () => void) {
  return defineTask("noop", async (_: { i: number }) => onRun(), { queue: QUEUE }).using({ backend });
}

async function taskportEndToEnd(count: number): Promise<number> {
  const finished = countdown(count);
  return withTaskport(
    () => finished.tick(),
    (task) =>
      timedRate(count, async () => {
        for (const chunk of chunks(count)) await task.enqueueMany(chunk.map((i) => ({ i })));
        await finished.done;
      }),
    true,
  );
}

async function taskportBacklog(count: number): Promise<number> {
  const finished = countdown(count);
  return withTaskport(
    () => finished.tick(),
    async (task, backend) => {
      for (const chunk of chunks(count)) await task.enqueueMany(chunk.map((i) => ({ i })));
      return timedRate(count, async () => {
        const worker = await startWorker({ tasks: [task], backend, concurrency: CONCURRENCY });
        await finished.done;
        await worker.close();
      });
    },
    false,
  );
}

async function taskportBulk(count: number): Promise<number> {
  return withTaskport(
    () => {},
    (task) =>
      timedRate(count, async () => {
        for (const chunk of chunks(count)) await task.enqueueMany(chunk.map((i) => ({ i })));
      }),
    false,
  );
}

async function taskportLatency(): Promise<number> {
  const signal = new StartSignal();
  return withTaskport(
    signal.started,
    async (task) => {
      await new Promise((resolve) => setTimeout(resolve, 200));
      const samples = await enqueueToStart(LATENCY_SAMPLES, signal, (i) => task.enqueue({ i }), idleGap);
      return percentile(samples, 50);
    },
    true,
  );
}

// ── plainjob ───────────────────────────────────────────────────────────────────

async function withPlainjob<T>(onRun: () => void, work: (queue: PlainQueue, startWorkers: () => PlainWorker[]) => Promise<T>): Promise<T> {
  const file = freshFile("plainjob");
  const queue = peers.defineQueue({ connection: peers.better(new peers.Database(file)), logger: QUIET });
  const workers: PlainWorker[] = [];
  const startWorkers = () => {
    for (let i = 0; i < CONCURRENCY; i++) {
      const worker = peers.defineWorker(QUEUE, async () => onRun(), { queue, logger: QUIET, pollIntervall: POLL_MS });
      void worker.start();
      workers.push(worker);
    }
    return workers;
  };
  try {
    return await work(queue, startWorkers);
  } finally {
    for (const worker of workers) await worker.stop();
    queue.close();
    removeFile(file);
  }
}

async function plainjobEndToEnd(count: number): Promise<number> {
  const finished = countdown(count);
  return withPlainjob(
    () => finished.tick(),
    (queue, startWorkers) => {
      startWorkers();
      return timedRate(count, async () => {
        for (const chunk of chunks(count)) {
          queue.addMany(
            QUEUE,
            chunk.map((i) => ({ i })),
          );
          await Promise.resolve();
        }
        await finished.done;
      });
    },
  );
}

async function plainjobBacklog(count: number): Promise<number> {
  const finished = countdown(count);
  return withPlainjob(
    () => finished.tick(),
    (queue, startWorkers) => {
      for (const chunk of chunks(count))
        queue.addMany(
          QUEUE,
          chunk.map((i) => ({ i })),
        );
      return timedRate(count, async () => {
        startWorkers();
        await finished.done;
      });
    },
  );
}

async function plainjobBulk(count: number): Promise<number> {
  return withPlainjob(
    () => {},
    (queue) =>
      timedRate(count, async () => {
        for (const chunk of chunks(count))
          queue.addMany(
            QUEUE,
            chunk.map((i) => ({ i })),
          );
      }),
  );
}

async function plainjobLatency(): Promise<number> {
  const signal = new StartSignal();
  return withPlainjob(signal.started, async (queue, startWorkers) => {
    startWorkers();
    await new Promise((resolve) => setTimeout(resolve, 200));
    const samples = await enqueueToStart(LATENCY_SAMPLES, signal, async (i) => queue.add(QUEUE, { i }), idleGap);
    return percentile(samples, 50);
  });
}

// ── Sidequest ──────────────────────────────────────────────────────────────────

function sidequestBackend(file: string): object {
  return {
    driver: "@sidequest/sqlite-backend",
    config: {
      connection: { filename: file },
      pool: {
        afterCreate(connection: { pragma(sql: string): unknown }, done: (error?: Error) => void) {
          connection.pragma("journal_mode = WAL");
          connection.pragma("synchronous = NORMAL");
          done();
        },
      },
    },
  };
}

/** Sidequest's configuration on `file`; with `engine`, the dispatcher and runner too, in this process. */
function sidequestConfig(file: string, engine: boolean): object {
  const base = {
    backend: sidequestBackend(file),
    logger: { level: "error" },
    dashboard: { enabled: false },
    gracefulShutdown: false,
    releaseStaleJobsIntervalMin: false,
    cleanupFinishedJobsIntervalMin: false,
  };
  if (!engine) return base;
  return {
    ...base,
    queues: [{ name: QUEUE, concurrency: CONCURRENCY }],
    maxConcurrentJobs: CONCURRENCY,
    fork: false,
    runner: "inline",
    jobPollingInterval: POLL_MS,
  };
}

async function withSidequest<T>(onRun: () => void, engine: boolean, work: () => Promise<T>): Promise<T> {
  const file = freshFile("sidequest");
  peers.sidequestRuns.onRun = onRun;
  if (engine) await peers.Sidequest.start(sidequestConfig(file, true));
  else await peers.Sidequest.configure(sidequestConfig(file, false));
  try {
    return await work();
  } finally {
    await peers.Sidequest.stop();
    peers.sidequestRuns.onRun = () => {};
    removeFile(file);
  }
}

async function sidequestEnqueueAll(count: number): Promise<void> {
  for (const chunk of chunks(count)) await Promise.all(chunk.map((i) => peers.Sidequest.build(peers.NoopJob).queue(QUEUE).enqueue(i)));
}

async function sidequestEndToEnd(count: number): Promise<number> {
  const finished = countdown(count);
  return withSidequest(
    () => finished.tick(),
    true,
    () =>
      timedRate(count, async () => {
        await sidequestEnqueueAll(count);
        await finished.done;
      }),
  );
}

async function sidequestBacklog(count: number): Promise<number> {
  const finished = countdown(count);
  const file = freshFile("sidequest-backlog");
  peers.sidequestRuns.onRun = () => finished.tick();
  let started = false;
  try {
    // The backlog is enqueued with the backend alone, then the engine starts on the same file.
    await peers.Sidequest.configure(sidequestConfig(file, false));
    await sidequestEnqueueAll(count);
    await peers.Sidequest.stop();
    return await timedRate(count, async () => {
      started = true;
      await peers.Sidequest.start(sidequestConfig(file, true));
      await finished.done;
    });
  } finally {
    if (started) await peers.Sidequest.stop();
    peers.sidequestRuns.onRun = () => {};
    removeFile(file);
  }
}

async function sidequestEnqueue(count: number): Promise<number> {
  return withSidequest(
    () => {},
    false,
    () => timedRate(count, () => sidequestEnqueueAll(count)),
  );
}

async function sidequestLatency(): Promise<number> {
  const signal = new StartSignal();
  return withSidequest(signal.started, true, async () => {
    await new Promise((resolve) => setTimeout(resolve, 200));
    const samples = await enqueueToStart(
      LATENCY_SAMPLES,
      signal,
      (i) => peers.Sidequest.build(peers.NoopJob).queue(QUEUE).enqueue(i),
      idleGap,
    );
    return percentile(samples, 50);
  });
}

/** CPU this process spends per second of wall time while one worker waits on an empty queue. */
async function taskportIdleCpu(): Promise<number> {
  return withTaskport(
    () => {},
    async () => {
      await new Promise((resolve) => setTimeout(resolve, 500));
      const before = process.cpuUsage();
      const start = performance.now();
      await new Promise((resolve) => setTimeout(resolve, IDLE_MS));
      const used = process.cpuUsage(before);
      return (used.user + used.system) / 1000 / ((performance.now() - start) / 1000);
    },
    true,
  );
}

const IDLE_MS = Number(process.env.BENCH_SQLITE_IDLE_MS ?? 5_000);

// ── several processes on one file (taskport alone) ─────────────────────────────

const PROCESS_JOBS = Number(process.env.BENCH_SQLITE_PROCESS_JOBS ?? 10_000);
const PROCESS_HANDLER_MS = 20;
const PROCESS_SLOTS = 50;
const workerProcess = fileURLToPath(new URL("../sqlite-worker-process.ts", import.meta.url));

/**
 * A backlog drained by `processes` worker processes sharing one file: the queue is paused while
 * they start, and timed from its resume to the last job's success, as the producer reads it.
 */
async function severalProcesses(processes: number): Promise<number> {
  const file = freshFile("processes");
  const backend = new Backend("producer", new SqliteAdapter({ filename: file }));
  const task = defineTask("noop", async (_: { i: number }) => {}, { queue: QUEUE }).using({ backend });
  for (const chunk of chunks(PROCESS_JOBS)) await task.enqueueMany(chunk.map((i) => ({ i })));
  await backend.pause(QUEUE);
  const children = Array.from({ length: processes }, () =>
    spawn(process.execPath, ["--conditions=@taskport/source", workerProcess, file, String(PROCESS_HANDLER_MS), String(PROCESS_SLOTS)], {
      stdio: ["ignore", "pipe", "inherit"],
    }),
  );
  try {
    await Promise.all(
      children.map(
        (child) => new Promise<void>((resolve) => child.stdout?.on("data", (data) => String(data).includes("ready") && resolve())),
      ),
    );
    return await timedRate(PROCESS_JOBS, async () => {
      await backend.resume(QUEUE);
      while (((await backend.stats([QUEUE]))[0]?.counts.succeeded ?? 0) < PROCESS_JOBS) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    });
  } finally {
    for (const child of children) child.kill("SIGKILL");
    await backend.close();
    removeFile(file);
  }
}

// ── scenarios ──────────────────────────────────────────────────────────────────

export async function scenarios(): Promise<Scenario[]> {
  const n = (x: number) => x.toLocaleString("en-US");
  const c = `concurrency ${CONCURRENCY}`;
  return [
    {
      name: `end-to-end: ${n(JOBS)} jobs enqueued by ${n(CHUNK)} while a worker runs them, ${c}, vs plainjob`,
      unit: "jobs/s",
      higherIsBetter: true,
      taskport: () => taskportEndToEnd(JOBS),
      raw: () => plainjobEndToEnd(JOBS),
    },
    {
      name: `end-to-end: ${n(SIDEQUEST_JOBS)} jobs, ${c}, vs Sidequest`,
      unit: "jobs/s",
      higherIsBetter: true,
      taskport: () => taskportEndToEnd(SIDEQUEST_JOBS),
      raw: () => sidequestEndToEnd(SIDEQUEST_JOBS),
    },
    {
      name: `backlog of ${n(JOBS)}, ${c}, vs plainjob`,
      unit: "jobs/s",
      higherIsBetter: true,
      taskport: () => taskportBacklog(JOBS),
      raw: () => plainjobBacklog(JOBS),
    },
    {
      name: `backlog of ${n(SIDEQUEST_JOBS)}, ${c}, vs Sidequest`,
      unit: "jobs/s",
      higherIsBetter: true,
      taskport: () => taskportBacklog(SIDEQUEST_JOBS),
      raw: () => sidequestBacklog(SIDEQUEST_JOBS),
    },
    {
      name: `bulk enqueue: ${n(BULK)} by ${n(CHUNK)}, enqueueMany vs plainjob addMany`,
      unit: "jobs/s",
      higherIsBetter: true,
      taskport: () => taskportBulk(BULK),
      raw: () => plainjobBulk(BULK),
    },
    {
      name: `enqueue: ${n(SIDEQUEST_JOBS)} by ${n(CHUNK)}, enqueueMany vs Sidequest (${n(CHUNK)} enqueues at once; it has no bulk call)`,
      unit: "jobs/s",
      higherIsBetter: true,
      taskport: () => taskportBulk(SIDEQUEST_JOBS),
      raw: () => sidequestEnqueue(SIDEQUEST_JOBS),
    },
    ...[1, 2, 4].map(
      (processes): Scenario => ({
        name: `taskport alone: ${processes} worker process(es) × ${PROCESS_SLOTS} slots on one file, backlog of ${n(PROCESS_JOBS)}, ${PROCESS_HANDLER_MS} ms handlers`,
        unit: "jobs/s",
        higherIsBetter: true,
        taskport: () => severalProcesses(processes),
      }),
    ),
    {
      name: `taskport alone: CPU while idle, ms per s (one worker polling other processes' commits every 50 ms, ${IDLE_MS / 1000} s)`,
      unit: "ms",
      higherIsBetter: false,
      taskport: taskportIdleCpu,
    },
    {
      name: `enqueue-to-start p50, one process, vs plainjob (polling every ${POLL_MS} ms)`,
      unit: "ms",
      higherIsBetter: false,
      taskport: taskportLatency,
      raw: plainjobLatency,
    },
    {
      name: `enqueue-to-start p50, one process, vs Sidequest (polling every ${POLL_MS} ms)`,
      unit: "ms",
      higherIsBetter: false,
      taskport: taskportLatency,
      raw: sidequestLatency,
    },
  ];
}

export async function teardown(): Promise<void> {
  rmSync(dir, { recursive: true, force: true });
}
