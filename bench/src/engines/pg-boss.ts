/**
 * taskport over pg-boss against plain pg-boss 12, same PostgreSQL, same schema, side by side.
 * Enqueue: `task.enqueue` / `enqueueMany` against `send` / `insert`. Processing: a pre-loaded backlog
 * (statistics refreshed with ANALYZE in both arms, as a stale plan scans the whole backlog) and
 * enqueue-to-start latency, with the adapter's defaults against pg-boss's best settings
 * (batch 50, burstWhenBatchFull, 4 local loops, a notify queue with LISTEN/NOTIFY) and against
 * pg-boss as it comes (default `work()` options, a plain queue, no LISTEN/NOTIFY).
 */
import { randomUUID } from "node:crypto";
import { Backend, defineTask, startWorker } from "@taskport/core";
import { PgBossAdapter } from "@taskport/pg-boss";
import pg from "pg";
import { PgBoss, type WorkOptions } from "pg-boss";
import type { Scenario } from "../harness.ts";
import { countdown, enqueueToStart, inParallel, percentile, perSecond, StartSignal, timedRate } from "../harness.ts";

export const title = "pg-boss 12: taskport (adapter defaults) vs plain pg-boss";

const URL = process.env.TASKPORT_PG_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const SCHEMA = "taskport_bench";
const SEQUENTIAL = Number(process.env.BENCH_PG_SEQUENTIAL ?? 2_000);
const CONCURRENT = Number(process.env.BENCH_PG_CONCURRENT ?? 5_000);
const BULK = Number(process.env.BENCH_PG_BULK ?? 20_000);
const BACKLOG = Number(process.env.BENCH_PG_BACKLOG ?? 20_000);
const DEFAULTS_BACKLOG = Number(process.env.BENCH_PG_DEFAULTS_BACKLOG ?? 5);
const LATENCY_SAMPLES = Number(process.env.BENCH_PG_LATENCY ?? 200);
const CHUNK = 1_000;
/** In flight at once in both arms: pg-boss's best settings hold 4 loops × 50 jobs. */
const CONCURRENCY = 200;
const BEST: WorkOptions = { batchSize: 50, burstWhenBatchFull: true, localConcurrency: 4 };

let adapter: PgBossAdapter | undefined;
let backend: Backend | undefined;
let plain: PgBoss | undefined;
/** pg-boss as it comes: no LISTEN/NOTIFY, default polling. */
let stock: PgBoss | undefined;
let admin: pg.Pool | undefined;
let seq = 0;

async function setup(): Promise<{ backend: Backend; plain: PgBoss; admin: pg.Pool }> {
  admin ??= new pg.Pool({ connectionString: URL, max: 2 });
  if (!adapter) {
    adapter = new PgBossAdapter({ connectionString: URL, schema: SCHEMA, applicationName: "tp-bench-taskport" });
    backend = new Backend("bench", adapter);
    await adapter.pgBoss();
  }
  if (!plain) {
    plain = new PgBoss({
      connectionString: URL,
      schema: SCHEMA,
      useListenNotify: true,
      application_name: "tp-bench-plain",
      registerInstance: false,
    });
    plain.on("error", () => {});
    await plain.start();
  }
  if (!stock) {
    stock = new PgBoss({ connectionString: URL, schema: SCHEMA, application_name: "tp-bench-stock", registerInstance: false });
    stock.on("error", () => {});
    await stock.start();
  }
  return { backend: backend as Backend, plain, admin };
}

function queueName(arm: string): string {
  return `bench-${arm}-${process.pid}-${++seq}`;
}

/** A plain pg-boss queue as its users create one for fast workers. */
async function plainQueue(boss: PgBoss, arm: string): Promise<string> {
  const name = queueName(arm);
  await boss.createQueue(name, { notify: true });
  return name;
}

async function dropQueue(name: string): Promise<void> {
  const { plain } = await setup();
  await plain.deleteQueue(name).catch(() => {});
}

function noopTask(queue: string, onRun: (p: { i: number; at?: number }) => void = () => {}) {
  return defineTask("noop", async (p: { i: number; at?: number }) => onRun(p), { queue }).using({ backend: backend as Backend });
}

// ── enqueue ──────────────────────────────────────────────────────────────────

async function taskportSequential(): Promise<number> {
  await setup();
  const queue = queueName("tp");
  const task = noopTask(queue);
  await task.enqueue({ i: -1 }); // creates the queue, as the first enqueue of an app does
  const rate = await timedRate(SEQUENTIAL, async () => {
    for (let i = 0; i < SEQUENTIAL; i++) await task.enqueue({ i });
  });
  await dropQueue(queue);
  return rate;
}

async function plainSequential(): Promise<number> {
  const { plain } = await setup();
  const queue = await plainQueue(plain, "raw");
  await plain.send(queue, { i: -1 });
  const rate = await timedRate(SEQUENTIAL, async () => {
    for (let i = 0; i < SEQUENTIAL; i++) await plain.send(queue, { i });
  });
  await dropQueue(queue);
  return rate;
}

async function taskportConcurrent(): Promise<number> {
  await setup();
  const queue = queueName("tp");
  const task = noopTask(queue);
  await task.enqueue({ i: -1 });
  const rate = await timedRate(CONCURRENT, () => inParallel(CONCURRENT, 50, (i) => task.enqueue({ i })));
  await dropQueue(queue);
  return rate;
}

async function plainConcurrent(): Promise<number> {
  const { plain } = await setup();
  const queue = await plainQueue(plain, "raw");
  await plain.send(queue, { i: -1 });
  const rate = await timedRate(CONCURRENT, () => inParallel(CONCURRENT, 50, (i) => plain.send(queue, { i })));
  await dropQueue(queue);
  return rate;
}

async function taskportLoad(queue: string, count: number): Promise<void> {
  const task = noopTask(queue);
  for (let i = 0; i < count; i += CHUNK) {
    await task.enqueueMany(Array.from({ length: Math.min(CHUNK, count - i) }, (_, j) => ({ i: i + j })));
  }
}

/**
 * `same`: each row with taskport's options, its own id (taskport's ids are its own on every engine)
 * and the ids returned (how taskport tells a stored job from one its deduplication key refused).
 */
async function plainLoad(boss: PgBoss, queue: string, count: number, same = false): Promise<void> {
  for (let i = 0; i < count; i += CHUNK) {
    const rows = Array.from({ length: Math.min(CHUNK, count - i) }, (_, j) => ({
      data: { i: i + j },
      ...(same ? { id: randomUUID() } : {}),
    }));
    await boss.insert(queue, rows, same ? { returnId: true } : undefined);
  }
}

async function taskportBulk(): Promise<number> {
  await setup();
  const queue = queueName("tp");
  await noopTask(queue).enqueue({ i: -1 });
  const rate = await timedRate(BULK, () => taskportLoad(queue, BULK));
  await dropQueue(queue);
  return rate;
}

async function plainBulk(same = false): Promise<number> {
  const { plain } = await setup();
  const queue = await plainQueue(plain, "raw");
  await plain.send(queue, { i: -1 });
  const rate = await timedRate(BULK, () => plainLoad(plain, queue, BULK, same));
  await dropQueue(queue);
  return rate;
}

// ── processing ───────────────────────────────────────────────────────────────

async function analyze(): Promise<void> {
  const { admin } = await setup();
  await admin.query(`ANALYZE ${SCHEMA}.job`);
}

async function taskportBacklog(count: number): Promise<number> {
  const { backend } = await setup();
  const queue = queueName("tp");
  const finished = countdown(count);
  const task = noopTask(queue, () => finished.tick());
  await taskportLoad(queue, count);
  await analyze();
  const start = performance.now();
  const worker = await startWorker({ tasks: [task], backend, concurrency: CONCURRENCY });
  await finished.done;
  const rate = perSecond(count, performance.now() - start);
  await worker.close();
  await dropQueue(queue);
  return rate;
}

async function plainBacklog(count: number, options: WorkOptions, defaults = false): Promise<number> {
  const { plain: best } = await setup();
  const plain = defaults ? (stock as PgBoss) : best;
  const queue = defaults ? queueName("stock") : await plainQueue(plain, "raw");
  if (defaults) await plain.createQueue(queue);
  const finished = countdown(count);
  await plainLoad(plain, queue, count);
  await analyze();
  const start = performance.now();
  const id = await plain.work(queue, options, async (jobs) => finished.tick(jobs.length));
  await finished.done;
  const rate = perSecond(count, performance.now() - start);
  await plain.offWork(queue, { id, wait: true });
  await dropQueue(queue);
  return rate;
}

/**
 * A pause between samples, so each job meets an idle worker: a loop that fetches again right after
 * a job (as pg-boss's does) would otherwise catch the next one without any wake-up.
 */
function idleGap(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 20 + Math.random() * 30));
}

/** p50 of enqueue-to-start, one job at a time on an idle worker (the NOTIFY path). */
async function taskportLatency(): Promise<number> {
  const { backend } = await setup();
  const queue = queueName("tp");
  const signal = new StartSignal();
  const task = noopTask(queue, signal.started);
  await task.enqueue({ i: -1 });
  const worker = await startWorker({ tasks: [task], backend, concurrency: CONCURRENCY });
  await new Promise((resolve) => setTimeout(resolve, 300));
  const samples = await enqueueToStart(LATENCY_SAMPLES, signal, (i) => task.enqueue({ i }), idleGap);
  await worker.close();
  await dropQueue(queue);
  return percentile(samples, 50);
}

async function plainLatency(options: WorkOptions, defaults = false): Promise<number> {
  const { plain: best } = await setup();
  const plain = defaults ? (stock as PgBoss) : best;
  const queue = defaults ? queueName("stock") : await plainQueue(plain, "raw");
  if (defaults) await plain.createQueue(queue);
  const signal = new StartSignal();
  const id = await plain.work(queue, options, async () => signal.started());
  await new Promise((resolve) => setTimeout(resolve, 300));
  // pg-boss's defaults start a job about a second after it is sent: a few samples tell.
  const count = defaults ? Math.min(LATENCY_SAMPLES, 10) : LATENCY_SAMPLES;
  const samples = await enqueueToStart(count, signal, (i) => plain.send(queue, { i }), idleGap);
  await plain.offWork(queue, { id, wait: true });
  await dropQueue(queue);
  return percentile(samples, 50);
}

const IDLE_MS = Number(process.env.BENCH_PG_IDLE_MS ?? 10_000);

/** CPU time this process spends per second of wall time while one worker waits on an empty queue. */
async function cpuWhileIdle(): Promise<number> {
  await new Promise((resolve) => setTimeout(resolve, 500));
  const before = process.cpuUsage();
  const start = performance.now();
  await new Promise((resolve) => setTimeout(resolve, IDLE_MS));
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1000 / ((performance.now() - start) / 1000);
}

async function taskportIdle(): Promise<number> {
  const { backend } = await setup();
  const queue = queueName("tp");
  const task = noopTask(queue);
  const worker = await startWorker({ tasks: [task], backend, concurrency: CONCURRENCY });
  const cpu = await cpuWhileIdle();
  await worker.close();
  await dropQueue(queue);
  return cpu;
}

async function plainIdle(): Promise<number> {
  const { plain } = await setup();
  const queue = await plainQueue(plain, "raw");
  const id = await plain.work(queue, BEST, async () => {});
  const cpu = await cpuWhileIdle();
  await plain.offWork(queue, { id, wait: true });
  await dropQueue(queue);
  return cpu;
}

export async function scenarios(): Promise<Scenario[]> {
  const n = (x: number) => x.toLocaleString("en-US");
  return [
    {
      name: `sequential enqueue (${n(SEQUENTIAL)}) vs send`,
      unit: "jobs/s",
      higherIsBetter: true,
      taskport: taskportSequential,
      raw: plainSequential,
    },
    {
      name: `concurrent enqueue, 50 in flight (${n(CONCURRENT)}) vs send`,
      unit: "jobs/s",
      higherIsBetter: true,
      taskport: taskportConcurrent,
      raw: plainConcurrent,
    },
    {
      name: `bulk enqueueMany by ${n(CHUNK)} (${n(BULK)}) vs insert`,
      unit: "jobs/s",
      higherIsBetter: true,
      taskport: taskportBulk,
      raw: () => plainBulk(),
    },
    {
      name: `bulk enqueueMany by ${n(CHUNK)} (${n(BULK)}) vs insert with taskport's options (id, returnId)`,
      unit: "jobs/s",
      higherIsBetter: true,
      taskport: taskportBulk,
      raw: () => plainBulk(true),
    },
    {
      name: `backlog of ${n(BACKLOG)}: defaults vs pg-boss best settings`,
      unit: "jobs/s",
      higherIsBetter: true,
      taskport: () => taskportBacklog(BACKLOG),
      raw: () => plainBacklog(BACKLOG, BEST),
    },
    {
      name: `backlog of ${n(DEFAULTS_BACKLOG)}: defaults vs pg-boss default work()`,
      unit: "jobs/s",
      higherIsBetter: true,
      taskport: () => taskportBacklog(DEFAULTS_BACKLOG),
      raw: () => plainBacklog(DEFAULTS_BACKLOG, {}, true),
    },
    {
      name: "enqueue-to-start p50 vs pg-boss best settings",
      unit: "ms",
      higherIsBetter: false,
      taskport: taskportLatency,
      raw: () => plainLatency(BEST),
    },
    {
      name: "enqueue-to-start p50 vs pg-boss default work()",
      unit: "ms",
      higherIsBetter: false,
      taskport: taskportLatency,
      raw: () => plainLatency({}, true),
    },
    {
      name: `CPU while idle, ms per s (one worker, ${IDLE_MS / 1000} s, both instances running)`,
      unit: "ms",
      higherIsBetter: false,
      taskport: taskportIdle,
      raw: plainIdle,
    },
  ];
}

export async function teardown(): Promise<void> {
  await adapter?.close();
  await plain?.stop({ graceful: false, close: true });
  await stock?.stop({ graceful: false, close: true });
  await admin?.end();
}
