/**
 * taskport over BullMQ 6 against plain BullMQ, same Redis, same prefix, side by side. Both arms
 * use BullMQ's defaults otherwise (events stream on) and the same worker concurrency. The plain arm
 * adds jobs as a BullMQ user would (`add(name, data)`, `addBulk`); taskport's jobs also carry job
 * options: their own id, a priority (every taskport job is prioritized, so that priorities above the
 * default order correctly), their enqueue time and the backend's retention as BullMQ's age limits
 * (`removeOnComplete`/`removeOnFail`). Three more scenarios give the plain arm those same job
 * options, to separate BullMQ's cost of them from taskport's own (each option's cost alone:
 * `npm run bench -- bullmq-options`), and two run taskport with `priorities: false` (jobs in
 * BullMQ's plain wait list) against the option-less plain arm.
 * Processing: a pre-loaded backlog drained at concurrency 50; latency: enqueue-to-start on an idle worker.
 */
import { randomUUID } from "node:crypto";
import { BullMQAdapter } from "@taskport/bullmq";
import { Backend, defineTask, startWorker } from "@taskport/core";
import { type JobsOptions, Queue, Worker } from "bullmq";
import type { Scenario } from "../harness.ts";
import { countdown, enqueueToStart, percentile, perSecond, StartSignal, timedRate } from "../harness.ts";

export const title = "BullMQ 6: taskport vs plain BullMQ (same Redis, same settings)";

const HOST = process.env.TASKPORT_REDIS_HOST ?? "127.0.0.1";
const PORT = Number(process.env.TASKPORT_REDIS_PORT ?? 6379);
const PREFIX = "tpbench";
const CONNECTION = { host: HOST, port: PORT };
const SEQUENTIAL = Number(process.env.BENCH_BULLMQ_SEQUENTIAL ?? 3_000);
const BULK = Number(process.env.BENCH_BULLMQ_BULK ?? 30_000);
const BACKLOG = Number(process.env.BENCH_BULLMQ_BACKLOG ?? 10_000);
const LATENCY_SAMPLES = Number(process.env.BENCH_BULLMQ_LATENCY ?? 300);
const CHUNK = 1_000;
const CONCURRENCY = 50;

let adapter: BullMQAdapter | undefined;
let backend: Backend | undefined;
let unprioritized: Backend | undefined;
let seq = 0;
const queues = new Map<string, Queue>();

function setup(priorities = true): Backend {
  adapter ??= new BullMQAdapter({ redis: CONNECTION, prefix: PREFIX, clientName: "tp-bench-taskport" });
  backend ??= new Backend("bench", adapter);
  if (priorities) return backend;
  unprioritized ??= new Backend(
    "bench-unprioritized",
    new BullMQAdapter({ redis: CONNECTION, prefix: PREFIX, clientName: "tp-bench-taskport-unprioritized", priorities: false }),
  );
  return unprioritized;
}

function queueName(arm: string): string {
  return `bench-${arm}-${process.pid}-${++seq}`;
}

function plainQueue(name: string): Queue {
  let queue = queues.get(name);
  if (!queue) {
    queue = new Queue(name, { prefix: PREFIX, connection: CONNECTION });
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

function noopTask(queue: string, onRun: (p: { i: number }) => void = () => {}, priorities = true) {
  return defineTask("noop", async (p: { i: number }) => onRun(p), { queue }).using({ backend: setup(priorities) });
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
    for (let i = 0; i < SEQUENTIAL; i++) await producer.add("noop", { i }, same ? sameOptions() : undefined);
  });
  await drop(queue);
  return rate;
}

async function taskportLoad(queue: string, count: number, priorities = true): Promise<void> {
  const task = noopTask(queue, undefined, priorities);
  for (let i = 0; i < count; i += CHUNK) {
    await task.enqueueMany(Array.from({ length: Math.min(CHUNK, count - i) }, (_, j) => ({ i: i + j })));
  }
}

/**
 * The job options every taskport job carries at the default priority and retention (see
 * adapters/bullmq's `options()`): its own id, a priority, its enqueue time, and the backend's
 * retention (a day for succeeded jobs, a week for failed ones) as BullMQ's age limits, in seconds.
 */
export function sameOptions(): JobsOptions {
  return {
    jobId: randomUUID(),
    timestamp: Date.now(),
    removeOnComplete: { age: 86_400 },
    removeOnFail: { age: 7 * 86_400 },
    priority: 101,
  };
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

async function taskportBulk(priorities = true): Promise<number> {
  const queue = queueName("tp");
  await noopTask(queue, undefined, priorities).enqueue({ i: -1 });
  const rate = await timedRate(BULK, () => taskportLoad(queue, BULK, priorities));
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

async function taskportBacklog(priorities = true): Promise<number> {
  const b = setup(priorities);
  const queue = queueName("tp");
  await taskportLoad(queue, BACKLOG, priorities);
  const finished = countdown(BACKLOG);
  const task = noopTask(queue, () => finished.tick(), priorities);
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
  const worker = new Worker(queue, handler, {
    prefix: PREFIX,
    connection: { ...CONNECTION, maxRetriesPerRequest: null },
    concurrency: CONCURRENCY,
  });
  worker.on("error", () => {});
  return worker;
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
      taskport: () => taskportBulk(),
      raw: () => plainBulk(),
    },
    {
      name: `backlog of ${n(BACKLOG)} no-op jobs at concurrency ${CONCURRENCY}`,
      unit: "jobs/s",
      higherIsBetter: true,
      taskport: () => taskportBacklog(),
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
      taskport: () => taskportBulk(),
      raw: () => plainBulk(true),
    },
    {
      name: `backlog of ${n(BACKLOG)} at concurrency ${CONCURRENCY}, plain jobs with taskport's job options`,
      unit: "jobs/s",
      higherIsBetter: true,
      taskport: () => taskportBacklog(),
      raw: () => plainBacklog(true),
    },
    {
      name: `bulk enqueue (${n(BULK)}) with priorities: false vs addBulk`,
      unit: "jobs/s",
      higherIsBetter: true,
      taskport: () => taskportBulk(false),
      raw: () => plainBulk(),
    },
    {
      name: `backlog of ${n(BACKLOG)} at concurrency ${CONCURRENCY} with priorities: false`,
      unit: "jobs/s",
      higherIsBetter: true,
      taskport: () => taskportBacklog(false),
      raw: () => plainBacklog(),
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
  await unprioritized?.close();
}
