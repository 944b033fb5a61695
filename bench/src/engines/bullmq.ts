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
 * The plain BullMQ arm and the scenario list serve bullmq-postgres.ts too.
 */
import { randomUUID } from "node:crypto";
import { BullMQAdapter } from "@taskport/bullmq";
import { Backend } from "@taskport/core";
import { type JobsOptions, Queue, Worker } from "bullmq";
import type { Scenario } from "../harness.ts";
import { CHUNK, CONCURRENCY, jobsPerSecond, milliseconds, n, type PlainSide, plainArm, queueName, taskportArm } from "../scenarios.ts";

export const title = "BullMQ 6: taskport vs plain BullMQ (same Redis, same settings)";

const CONNECTION = { host: process.env.TASKPORT_REDIS_HOST ?? "127.0.0.1", port: Number(process.env.TASKPORT_REDIS_PORT ?? 6379) };
const PREFIX = "tpbench";
const SIZES = {
  sequential: Number(process.env.BENCH_BULLMQ_SEQUENTIAL ?? 3_000),
  bulk: Number(process.env.BENCH_BULLMQ_BULK ?? 30_000),
  backlog: Number(process.env.BENCH_BULLMQ_BACKLOG ?? 10_000),
  latency: Number(process.env.BENCH_BULLMQ_LATENCY ?? 300),
};

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

/** How plain BullMQ reaches its store: Redis here, PostgreSQL in bullmq-postgres.ts. */
export interface BullMQStore {
  queue(name: string): Queue;
  worker(name: string, handler: () => Promise<void>): Worker;
  /** Deletes a queue and everything of it (taskport's `destroyQueue`, which both arms may use). */
  destroy(name: string): Promise<void>;
}

/** Plain BullMQ: queues by name, made once each and closed when dropped. */
export class PlainBullMQ {
  readonly #queues = new Map<string, Queue>();
  readonly #store: BullMQStore;

  constructor(store: BullMQStore) {
    this.#store = store;
  }

  readonly destroy = (name: string): Promise<void> => this.#store.destroy(name);

  #queue(name: string): Queue {
    let queue = this.#queues.get(name);
    if (!queue) {
      queue = this.#store.queue(name);
      queue.on("error", () => {});
      this.#queues.set(name, queue);
    }
    return queue;
  }

  /** Adds jobs with `options()` each, or none. */
  side(options: () => JobsOptions | undefined = () => undefined): PlainSide<string> {
    return {
      queue: async () => queueName("raw"),
      send: (name, i) => this.#queue(name).add("noop", { i }, options()),
      sendMany: (name, from, count) =>
        this.#queue(name).addBulk(Array.from({ length: count }, (_, j) => ({ name: "noop", data: { i: from + j }, opts: options() }))),
      consume: async (name, onJob) => {
        const worker = this.#store.worker(name, async () => onJob());
        worker.on("error", () => {});
        await worker.waitUntilReady();
        return worker;
      },
      drop: async (name) => {
        const queue = this.#queues.get(name);
        this.#queues.delete(name);
        await queue?.close().catch(() => {});
        await this.#store.destroy(name);
      },
    };
  }

  async close(): Promise<void> {
    for (const queue of this.#queues.values()) await queue.close().catch(() => {});
  }
}

/**
 * The scenarios of both BullMQ files: taskport over `backend()` against `plain`, whose jobs carry no
 * options or `taskportOptions()`, what taskport's jobs carry on that store; `unprioritizedBackend`
 * (a backend with `priorities: false`) adds its two rows.
 */
export function bullmqScenarios(
  sizes: typeof SIZES,
  plainBullMQ: PlainBullMQ,
  backend: () => Backend,
  options: { taskportOptions: () => JobsOptions; unprioritizedBackend?: () => Backend },
): Scenario[] {
  const { sequential, bulk, backlog, latency } = sizes;
  const { taskportOptions, unprioritizedBackend } = options;
  const taskport = taskportArm({ backend, drop: plainBullMQ.destroy });
  const unprioritized = unprioritizedBackend && taskportArm({ backend: unprioritizedBackend, drop: plainBullMQ.destroy });
  const plain = plainArm(plainBullMQ.side());
  const plainWithOptions = plainArm(plainBullMQ.side(taskportOptions));
  return [
    jobsPerSecond(
      `sequential enqueue (${n(sequential)}) vs add`,
      () => taskport.enqueue(sequential, 1),
      () => plain.enqueue(sequential, 1),
    ),
    jobsPerSecond(
      `bulk enqueueMany by ${n(CHUNK)} (${n(bulk)}) vs addBulk`,
      () => taskport.bulk(bulk),
      () => plain.bulk(bulk),
    ),
    jobsPerSecond(
      `backlog of ${n(backlog)} no-op jobs at concurrency ${CONCURRENCY}`,
      () => taskport.backlog(backlog),
      () => plain.backlog(backlog),
    ),
    jobsPerSecond(
      `sequential enqueue (${n(sequential)}) vs add with taskport's job options`,
      () => taskport.enqueue(sequential, 1),
      () => plainWithOptions.enqueue(sequential, 1),
    ),
    jobsPerSecond(
      `bulk enqueue (${n(bulk)}) vs addBulk with taskport's job options`,
      () => taskport.bulk(bulk),
      () => plainWithOptions.bulk(bulk),
    ),
    jobsPerSecond(
      `backlog of ${n(backlog)} at concurrency ${CONCURRENCY}, plain jobs with taskport's job options`,
      () => taskport.backlog(backlog),
      () => plainWithOptions.backlog(backlog),
    ),
    ...(unprioritized
      ? [
          jobsPerSecond(
            `bulk enqueue (${n(bulk)}) with priorities: false vs addBulk`,
            () => unprioritized.bulk(bulk),
            () => plain.bulk(bulk),
          ),
          jobsPerSecond(
            `backlog of ${n(backlog)} at concurrency ${CONCURRENCY} with priorities: false`,
            () => unprioritized.backlog(backlog),
            () => plain.backlog(backlog),
          ),
        ]
      : []),
    milliseconds(
      "enqueue-to-start p50, idle worker",
      () => taskport.latency(latency, 50),
      () => plain.latency(latency, 50),
    ),
    milliseconds(
      "enqueue-to-start p99, idle worker",
      () => taskport.latency(latency, 99),
      () => plain.latency(latency, 99),
    ),
  ];
}

let adapter: BullMQAdapter | undefined;
let unprioritizedAdapter: BullMQAdapter | undefined;
let backend: Backend | undefined;
let unprioritizedBackend: Backend | undefined;

function taskportAdapter(): BullMQAdapter {
  adapter ??= new BullMQAdapter({ redis: CONNECTION, prefix: PREFIX, clientName: "tp-bench-taskport" });
  return adapter;
}

const plain = new PlainBullMQ({
  queue: (name) => new Queue(name, { prefix: PREFIX, connection: CONNECTION }),
  worker: (name, handler) =>
    new Worker(name, handler, { prefix: PREFIX, connection: { ...CONNECTION, maxRetriesPerRequest: null }, concurrency: CONCURRENCY }),
  destroy: (name) => taskportAdapter().destroyQueue(name),
});

export function scenarios(): Scenario[] {
  return bullmqScenarios(
    SIZES,
    plain,
    () => {
      backend ??= new Backend("bench", taskportAdapter());
      return backend;
    },
    {
      taskportOptions: sameOptions,
      unprioritizedBackend: () => {
        unprioritizedAdapter ??= new BullMQAdapter({
          redis: CONNECTION,
          prefix: PREFIX,
          clientName: "tp-bench-taskport-unprioritized",
          priorities: false,
        });
        unprioritizedBackend ??= new Backend("bench-unprioritized", unprioritizedAdapter);
        return unprioritizedBackend;
      },
    },
  );
}

export async function teardown(): Promise<void> {
  await plain.close();
  await adapter?.close();
  await unprioritizedAdapter?.close();
}
