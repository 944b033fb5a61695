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
import { Backend } from "@taskport/core";
import Queue from "bee-queue";
import type { Scenario } from "../harness.ts";
import { CHUNK, CONCURRENCY, n, type PlainSide, plainArm, queueName, queueScenarios, taskportArm } from "../scenarios.ts";

export const title = "bee-queue 2: taskport vs plain bee-queue (same settings)";

const HOST = process.env.TASKPORT_REDIS_HOST ?? "127.0.0.1";
const PORT = Number(process.env.TASKPORT_REDIS_PORT ?? 6379);
const PREFIX = "tpbqbench";
const SIZES = {
  sequential: Number(process.env.BENCH_BQ_SEQUENTIAL ?? 20_000),
  concurrent: Number(process.env.BENCH_BQ_CONCURRENT ?? 20_000),
  bulk: Number(process.env.BENCH_BQ_BULK ?? 50_000),
  backlog: Number(process.env.BENCH_BQ_BACKLOG ?? 20_000),
  latency: Number(process.env.BENCH_BQ_LATENCY ?? 300),
};

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
const producers = new Map<string, Queue>();

function taskportAdapter(): BeeQueueAdapter {
  adapter ??= new BeeQueueAdapter({ redis: { host: HOST, port: PORT }, prefix: PREFIX, clientName: "tp-bench-taskport" });
  return adapter;
}

function plainQueue(name: string, settings: Queue.QueueSettings): Queue {
  const queue = new Queue(name, { prefix: PREFIX, redis: { host: HOST, port: PORT }, ...settings });
  queue.on("error", () => {});
  return queue;
}

async function drop(name: string): Promise<void> {
  const producer = producers.get(name);
  producers.delete(name);
  await producer?.close().catch(() => {});
  await taskportAdapter().destroyQueue(name);
}

const plainSide: PlainSide<Queue> = {
  async queue() {
    const name = queueName("raw");
    const producer = plainQueue(name, PRODUCER);
    producers.set(name, producer);
    await producer.ready();
    return producer;
  },
  send: (producer, i) => producer.createJob({ i }).save(),
  async sendMany(producer, from, count) {
    const errors = await producer.saveAll(Array.from({ length: count }, (_, j) => producer.createJob({ i: from + j })));
    if (errors.size > 0) throw [...errors.values()][0];
  },
  /**
   * A plain worker doing what taskport's workers do besides running jobs: bee-queue's stalled-job
   * check every interval (5 s, bee-queue's default), which redelivers a crashed worker's jobs.
   */
  async consume(producer, onJob) {
    const worker = plainQueue(producer.name, WORKER);
    worker.process(CONCURRENCY, async () => {
      onJob();
      return null;
    });
    worker.checkStalledJobs(5_000).catch(() => {});
    await worker.ready();
    return worker;
  },
  drop: (producer) => drop(producer.name),
};

const taskport = taskportArm({
  backend: () => {
    backend ??= new Backend("bench", taskportAdapter());
    return backend;
  },
  drop,
});
const raw = plainArm(plainSide);

export function scenarios(): Scenario[] {
  // Latency samples are paced 5–15 ms apart (the default), so that each job meets an idle worker blocked in BRPOPLPUSH.
  return queueScenarios(taskport, raw, SIZES, {
    sequential: `sequential enqueue (${n(SIZES.sequential)}) vs save`,
    concurrent: `concurrent enqueue, 50 in flight (${n(SIZES.concurrent)}) vs save`,
    bulk: `bulk enqueueMany by ${n(CHUNK)} (${n(SIZES.bulk)}) vs saveAll`,
    backlog: `backlog of ${n(SIZES.backlog)} at concurrency ${CONCURRENCY} vs process()`,
    latency: "enqueue-to-start p50, idle worker",
  });
}

export async function teardown(): Promise<void> {
  for (const queue of producers.values()) await queue.close().catch(() => {});
  await adapter?.close();
}
