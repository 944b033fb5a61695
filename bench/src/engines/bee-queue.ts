/**
 * taskport over bee-queue against plain bee-queue 2, same Redis, side by side. Both arms use the
 * same bee-queue settings: no events, no job copies in the producer, delayed-job activation and the
 * stalled-job check on workers, succeeded jobs kept (taskport's default, for results). Both send
 * the same Redis commands per job (one addJob EVALSHA to enqueue; BRPOPLPUSH, HGET and one MULTI
 * to run). Enqueue: `task.enqueue` /
 * `enqueueMany` against `createJob().save()` / `saveAll`. Processing: a pre-loaded backlog drained
 * at concurrency 50, and enqueue-to-start latency on an idle worker.
 */
import { BeeQueueAdapter } from "@taskport/bee-queue";
import { Backend, defineTask, startWorker } from "@taskport/core";
import Queue from "bee-queue";
import type { Scenario } from "../harness.ts";
import { countdown, enqueueToStart, inParallel, percentile, perSecond, StartSignal, timedRate } from "../harness.ts";

export const title = "bee-queue 2: taskport vs plain bee-queue (same settings)";

const HOST = process.env.TASKPORT_REDIS_HOST ?? "127.0.0.1";
const PORT = Number(process.env.TASKPORT_REDIS_PORT ?? 6379);
const PREFIX = "tpbqbench";
const SEQUENTIAL = Number(process.env.BENCH_BQ_SEQUENTIAL ?? 20_000);
const CONCURRENT = Number(process.env.BENCH_BQ_CONCURRENT ?? 20_000);
const BULK = Number(process.env.BENCH_BQ_BULK ?? 50_000);
const BACKLOG = Number(process.env.BENCH_BQ_BACKLOG ?? 20_000);
const LATENCY_SAMPLES = Number(process.env.BENCH_BQ_LATENCY ?? 300);
const CHUNK = 1_000;
const CONCURRENCY = 50;

/** The settings both arms share: only what the workload needs, as the adapter configures bee-queue. */
const PRODUCER: Queue.QueueSettings = { isWorker: false, getEvents: false, sendEvents: false, storeJobs: false };
const WORKER: Queue.QueueSettings = {
  isWorker: true,
  getEvents: false,
  sendEvents: false,
  storeJobs: false,
  activateDelayedJobs: true,
  delayedDebounce: 10,
  removeOnSuccess: false,
};

let adapter: BeeQueueAdapter | undefined;
let backend: Backend | undefined;
let seq = 0;
const producers = new Map<string, Queue>();

function setup(): Backend {
  adapter ??= new BeeQueueAdapter({ redis: { host: HOST, port: PORT }, prefix: PREFIX, clientName: "tp-bench-taskport" });
  backend ??= new Backend("bench", adapter);
  return backend;
}

function queueName(arm: string): string {
  return `bench-${arm}-${process.pid}-${++seq}`;
}

function plainQueue(name: string, settings: Queue.QueueSettings): Queue {
  const queue = new Queue(name, { prefix: PREFIX, redis: { host: HOST, port: PORT }, ...settings });
  queue.on("error", () => {});
  return queue;
}

/**
 * A plain worker doing what taskport's workers do besides running jobs: bee-queue's stalled-job
 * check every interval (5 s, bee-queue's default), which redelivers a crashed worker's jobs.
 */
function plainWorker(name: string, handler: () => Promise<null>): Queue {
  const worker = plainQueue(name, WORKER);
  worker.process(CONCURRENCY, handler);
  worker.checkStalledJobs(5_000).catch(() => {});
  return worker;
}

async function plainProducer(name: string): Promise<Queue> {
  let queue = producers.get(name);
  if (!queue) {
    queue = plainQueue(name, PRODUCER);
    producers.set(name, queue);
  }
  await queue.ready();
  return queue;
}

async function drop(name: string): Promise<void> {
  const producer = producers.get(name);
  producers.delete(name);
  await producer?.close().catch(() => {});
  await (adapter as BeeQueueAdapter).destroyQueue(name);
}

function noopTask(queue: string, onRun: (p: { i: number }) => void = () => {}) {
  return defineTask("noop", async (p: { i: number }) => onRun(p), { queue }).using({ backend: setup() });
}

// ── enqueue ──────────────────────────────────────────────────────────────────

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

async function plainSequential(): Promise<number> {
  setup();
  const queue = queueName("raw");
  const producer = await plainProducer(queue);
  await producer.createJob({ i: -1 }).save();
  const rate = await timedRate(SEQUENTIAL, async () => {
    for (let i = 0; i < SEQUENTIAL; i++) await producer.createJob({ i }).save();
  });
  await drop(queue);
  return rate;
}

async function taskportConcurrent(): Promise<number> {
  const queue = queueName("tp");
  const task = noopTask(queue);
  await task.enqueue({ i: -1 });
  const rate = await timedRate(CONCURRENT, () => inParallel(CONCURRENT, 50, (i) => task.enqueue({ i })));
  await drop(queue);
  return rate;
}

async function plainConcurrent(): Promise<number> {
  setup();
  const queue = queueName("raw");
  const producer = await plainProducer(queue);
  await producer.createJob({ i: -1 }).save();
  const rate = await timedRate(CONCURRENT, () => inParallel(CONCURRENT, 50, (i) => producer.createJob({ i }).save()));
  await drop(queue);
  return rate;
}

async function taskportLoad(queue: string, count: number): Promise<void> {
  const task = noopTask(queue);
  for (let i = 0; i < count; i += CHUNK) {
    await task.enqueueMany(Array.from({ length: Math.min(CHUNK, count - i) }, (_, j) => ({ i: i + j })));
  }
}

async function plainLoad(queue: string, count: number): Promise<void> {
  const producer = await plainProducer(queue);
  for (let i = 0; i < count; i += CHUNK) {
    const errors = await producer.saveAll(Array.from({ length: Math.min(CHUNK, count - i) }, (_, j) => producer.createJob({ i: i + j })));
    if (errors.size > 0) throw [...errors.values()][0];
  }
}

async function taskportBulk(): Promise<number> {
  const queue = queueName("tp");
  await noopTask(queue).enqueue({ i: -1 });
  const rate = await timedRate(BULK, () => taskportLoad(queue, BULK));
  await drop(queue);
  return rate;
}

async function plainBulk(): Promise<number> {
  setup();
  const queue = queueName("raw");
  await (await plainProducer(queue)).createJob({ i: -1 }).save();
  const rate = await timedRate(BULK, () => plainLoad(queue, BULK));
  await drop(queue);
  return rate;
}

// ── processing ───────────────────────────────────────────────────────────────

async function taskportBacklog(): Promise<number> {
  const backend = setup();
  const queue = queueName("tp");
  const finished = countdown(BACKLOG);
  const task = noopTask(queue, () => finished.tick());
  await taskportLoad(queue, BACKLOG);
  const start = performance.now();
  const worker = await startWorker({ tasks: [task], backend, concurrency: CONCURRENCY });
  await finished.done;
  const rate = perSecond(BACKLOG, performance.now() - start);
  await worker.close();
  await drop(queue);
  return rate;
}

async function plainBacklog(): Promise<number> {
  setup();
  const queue = queueName("raw");
  const finished = countdown(BACKLOG);
  await plainLoad(queue, BACKLOG);
  const start = performance.now();
  const worker = plainWorker(queue, async () => {
    finished.tick();
    return null;
  });
  await finished.done;
  const rate = perSecond(BACKLOG, performance.now() - start);
  await worker.close();
  await drop(queue);
  return rate;
}

/** A pause between samples, so each job meets an idle worker blocked in BRPOPLPUSH. */
function idleGap(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 5 + Math.random() * 10));
}

async function taskportLatency(): Promise<number> {
  const backend = setup();
  const queue = queueName("tp");
  const signal = new StartSignal();
  const task = noopTask(queue, signal.started);
  await task.enqueue({ i: -1 });
  const worker = await startWorker({ tasks: [task], backend, concurrency: CONCURRENCY });
  await new Promise((resolve) => setTimeout(resolve, 300));
  const samples = await enqueueToStart(LATENCY_SAMPLES, signal, (i) => task.enqueue({ i }), idleGap);
  await worker.close();
  await drop(queue);
  return percentile(samples, 50);
}

async function plainLatency(): Promise<number> {
  setup();
  const queue = queueName("raw");
  const producer = await plainProducer(queue);
  const signal = new StartSignal();
  const worker = plainWorker(queue, async () => {
    signal.started();
    return null;
  });
  await worker.ready();
  await new Promise((resolve) => setTimeout(resolve, 300));
  const samples = await enqueueToStart(LATENCY_SAMPLES, signal, (i) => producer.createJob({ i }).save(), idleGap);
  await worker.close();
  await drop(queue);
  return percentile(samples, 50);
}

export async function scenarios(): Promise<Scenario[]> {
  const n = (x: number) => x.toLocaleString("en-US");
  return [
    {
      name: `sequential enqueue (${n(SEQUENTIAL)}) vs save`,
      unit: "jobs/s",
      higherIsBetter: true,
      taskport: taskportSequential,
      raw: plainSequential,
    },
    {
      name: `concurrent enqueue, 50 in flight (${n(CONCURRENT)}) vs save`,
      unit: "jobs/s",
      higherIsBetter: true,
      taskport: taskportConcurrent,
      raw: plainConcurrent,
    },
    {
      name: `bulk enqueueMany by ${n(CHUNK)} (${n(BULK)}) vs saveAll`,
      unit: "jobs/s",
      higherIsBetter: true,
      taskport: taskportBulk,
      raw: plainBulk,
    },
    {
      name: `backlog of ${n(BACKLOG)} at concurrency ${CONCURRENCY} vs process()`,
      unit: "jobs/s",
      higherIsBetter: true,
      taskport: taskportBacklog,
      raw: plainBacklog,
    },
    {
      name: "enqueue-to-start p50, idle worker",
      unit: "ms",
      higherIsBetter: false,
      taskport: taskportLatency,
      raw: plainLatency,
    },
  ];
}

export async function teardown(): Promise<void> {
  for (const queue of producers.values()) await queue.close().catch(() => {});
  await adapter?.close();
}
