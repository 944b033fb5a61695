/**
 * taskport over BullMQ's PostgreSQL backend against plain BullMQ on the same backend: same
 * PostgreSQL, same schema, same pool size, side by side. Both arms use BullMQ's defaults otherwise
 * (completed jobs kept, events written) and the same worker concurrency. The plain arm adds jobs as
 * a BullMQ user would; taskport's jobs also carry a job id, a priority, their enqueue time and the
 * backend's retention ages (which BullMQ's PostgreSQL backend prunes by on every finish), so three
 * more scenarios give the plain arm those job options too, to separate their cost from taskport's own.
 * Processing: a pre-loaded backlog drained at concurrency 50; latency: enqueue-to-start on an idle worker.
 */
import { BullMQAdapter } from "@taskport/bullmq";
import { Backend, defineTask, startWorker } from "@taskport/core";
import { createPostgresBackend, type PostgresPoolConfig, Queue, Worker } from "bullmq";
import type { Scenario } from "../harness.ts";
import { countdown, enqueueToStart, percentile, perSecond, StartSignal, timedRate } from "../harness.ts";
import { sameOptions } from "./bullmq.ts";

export const title = "BullMQ 6.7 on PostgreSQL: taskport vs plain BullMQ (same database, same schema, same settings)";

const URL = process.env.TASKPORT_PG_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const CONNECTION: PostgresPoolConfig = { connectionString: URL, schema: "tp_bullmq_bench", migrate: true, max: 10 };
const SEQUENTIAL = Number(process.env.BENCH_BULLMQ_PG_SEQUENTIAL ?? 2_000);
const BULK = Number(process.env.BENCH_BULLMQ_PG_BULK ?? 20_000);
const BACKLOG = Number(process.env.BENCH_BULLMQ_PG_BACKLOG ?? 5_000);
const LATENCY_SAMPLES = Number(process.env.BENCH_BULLMQ_PG_LATENCY ?? 200);
const CHUNK = 1_000;
const CONCURRENCY = 50;

let adapter: BullMQAdapter | undefined;
let backend: Backend | undefined;
let seq = 0;
const queues = new Map<string, Queue>();

function setup(): Backend {
  adapter ??= new BullMQAdapter({ postgres: CONNECTION, clientName: "tp-bench-taskport" });
  backend ??= new Backend("bench", adapter);
  return backend;
}

function queueName(arm: string): string {
  return `bench-${arm}-${process.pid}-${++seq}`;
}

function plainQueue(name: string): Queue {
  let queue = queues.get(name);
  if (!queue) {
    queue = new Queue(name, { connection: CONNECTION }, createPostgresBackend) as unknown as Queue;
    queue.on("error", () => {});
    queues.set(name, queue);
  }
  return queue;
}

async function drop(name: string): Promise<void> {
  const queue = queues.get(name);
  queues.delete(name);
  await queue?.close().catch(() => {});
  await (adapter as BullMQAdapter).destroyQueue(name);
}

function noopTask(queue: string, onRun: (p: { i: number }) => void = () => {}) {
  return defineTask("noop", async (p: { i: number }) => onRun(p), { queue }).using({ backend: setup() });
}

async function taskportSequential(): Promise<number> {
  const queue = queueName("tp");
  const task = noopTask(queue);
  await task.enqueue({ i: -1 }); // connects, as an app's first enqueue does
  const rate = await timedRate(SEQUENTIAL, async () => {
    for (let i = 0; i < SEQUENTIAL; i++) await task.enqueue({ i });
  });
  await drop(queue);
  return rate;
}

async function plainSequential(same = false): Promise<number> {
  setup();
  const queue = queueName("raw");
  const producer = plainQueue(queue);
  await producer.add("noop", { i: -1 });
  const rate = await timedRate(SEQUENTIAL, async () => {
    for (let i = 0; i < SEQUENTIAL; i++) await producer.add("noop", { i }, same ? sameOptions() : {});
  });
  await drop(queue);
  return rate;
}

async function taskportLoad(queue: string, count: number): Promise<void> {
  const task = noopTask(queue);
  for (let i = 0; i < count; i += CHUNK) {
    await task.enqueueMany(Array.from({ length: Math.min(CHUNK, count - i) }, (_, j) => ({ i: i + j })));
  }
}

async function plainLoad(queue: string, count: number, same = false): Promise<void> {
  const producer = plainQueue(queue);
  for (let i = 0; i < count; i += CHUNK) {
    await producer.addBulk(
      Array.from({ length: Math.min(CHUNK, count - i) }, (_, j) => ({
        name: "noop",
        data: { i: i + j },
        ...(same ? { opts: sameOptions() } : {}),
      })),
    );
  }
}

async function taskportBulk(): Promise<number> {
  const queue = queueName("tp");
  await noopTask(queue).enqueue({ i: -1 });
  const rate = await timedRate(BULK, () => taskportLoad(queue, BULK));
  await drop(queue);
  return rate;
}

async function plainBulk(same = false): Promise<number> {
  setup();
  const queue = queueName("raw");
  await plainQueue(queue).add("noop", { i: -1 });
  const rate = await timedRate(BULK, () => plainLoad(queue, BULK, same));
  await drop(queue);
  return rate;
}

async function taskportBacklog(): Promise<number> {
  const b = setup();
  const queue = queueName("tp");
  await taskportLoad(queue, BACKLOG);
  const finished = countdown(BACKLOG);
  const task = noopTask(queue, () => finished.tick());
  const start = performance.now();
  const worker = await startWorker({ tasks: [task], backend: b, concurrency: CONCURRENCY });
  await finished.done;
  const rate = perSecond(BACKLOG, performance.now() - start);
  await worker.close();
  await drop(queue);
  return rate;
}

async function plainBacklog(same = false): Promise<number> {
  setup();
  const queue = queueName("raw");
  await plainLoad(queue, BACKLOG, same);
  const finished = countdown(BACKLOG);
  const start = performance.now();
  const worker = plainWorker(queue, async () => finished.tick());
  await finished.done;
  const rate = perSecond(BACKLOG, performance.now() - start);
  await worker.close();
  await drop(queue);
  return rate;
}

function plainWorker(queue: string, handler: () => Promise<void>): Worker {
  const worker = new Worker(queue, handler, { connection: CONNECTION, concurrency: CONCURRENCY }, createPostgresBackend);
  worker.on("error", () => {});
  return worker as unknown as Worker;
}

function idleGap(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 5 + Math.random() * 10));
}

async function taskportLatency(p: number): Promise<number> {
  const b = setup();
  const queue = queueName("tp");
  const signal = new StartSignal();
  const task = noopTask(queue, signal.started);
  await task.enqueue({ i: -1 });
  const worker = await startWorker({ tasks: [task], backend: b, concurrency: CONCURRENCY });
  await new Promise((resolve) => setTimeout(resolve, 300));
  const samples = await enqueueToStart(LATENCY_SAMPLES, signal, (i) => task.enqueue({ i }), idleGap);
  await worker.close();
  await drop(queue);
  return percentile(samples, p);
}

async function plainLatency(p: number): Promise<number> {
  setup();
  const queue = queueName("raw");
  const producer = plainQueue(queue);
  const signal = new StartSignal();
  const worker = plainWorker(queue, async () => signal.started());
  await worker.waitUntilReady();
  await new Promise((resolve) => setTimeout(resolve, 300));
  const samples = await enqueueToStart(LATENCY_SAMPLES, signal, (i) => producer.add("noop", { i }), idleGap);
  await worker.close();
  await drop(queue);
  return percentile(samples, p);
}

export async function scenarios(): Promise<Scenario[]> {
  const n = (x: number) => x.toLocaleString("en-US");
  return [
    {
      name: `sequential enqueue (${n(SEQUENTIAL)}) vs add`,
      unit: "jobs/s",
      higherIsBetter: true,
      taskport: taskportSequential,
      raw: () => plainSequential(),
    },
    {
      name: `bulk enqueueMany by ${n(CHUNK)} (${n(BULK)}) vs addBulk`,
      unit: "jobs/s",
      higherIsBetter: true,
      taskport: taskportBulk,
      raw: () => plainBulk(),
    },
    {
      name: `backlog of ${n(BACKLOG)} no-op jobs at concurrency ${CONCURRENCY}`,
      unit: "jobs/s",
      higherIsBetter: true,
      taskport: taskportBacklog,
      raw: () => plainBacklog(),
    },
    {
      name: `sequential enqueue (${n(SEQUENTIAL)}) vs add with taskport's job options`,
      unit: "jobs/s",
      higherIsBetter: true,
      taskport: taskportSequential,
      raw: () => plainSequential(true),
    },
    {
      name: `bulk enqueue (${n(BULK)}) vs addBulk with taskport's job options`,
      unit: "jobs/s",
      higherIsBetter: true,
      taskport: taskportBulk,
      raw: () => plainBulk(true),
    },
    {
      name: `backlog of ${n(BACKLOG)} at concurrency ${CONCURRENCY}, plain jobs with taskport's job options`,
      unit: "jobs/s",
      higherIsBetter: true,
      taskport: taskportBacklog,
      raw: () => plainBacklog(true),
    },
    {
      name: "enqueue-to-start p50, idle worker",
      unit: "ms",
      higherIsBetter: false,
      taskport: () => taskportLatency(50),
      raw: () => plainLatency(50),
    },
    {
      name: "enqueue-to-start p99, idle worker",
      unit: "ms",
      higherIsBetter: false,
      taskport: () => taskportLatency(99),
      raw: () => plainLatency(99),
    },
  ];
}

export async function teardown(): Promise<void> {
  for (const queue of queues.values()) await queue.close().catch(() => {});
  await adapter?.close();
}
