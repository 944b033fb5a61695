/**
 * The workloads most engine files measure, written once so that both arms of every engine run them
 * the same way: enqueue one at a time or `width` in flight, a bulk load by chunks, a pre-loaded
 * backlog drained by a consumer, and enqueue-to-start latency on an idle consumer. An engine file
 * says only what is particular to it: how taskport's backend is built and its queues dropped
 * ({@link TaskportSide}), how the plain library declares, fills, drains and drops a queue
 * ({@link PlainSide}), the counts, and its scenarios' names.
 * Each workload uses a queue of its own, dropped afterwards. The enqueue and bulk workloads first
 * send one unrecorded job on each arm, so that connecting and declaring are not timed.
 */
import { type Backend, defineTask, startWorker } from "@taskport/core";
import type { Scenario } from "./harness.ts";
import { countdown, enqueueToStart, inParallel, percentile, perSecond, StartSignal, timedRate } from "./harness.ts";

/** One arm's run of each workload, each resolving to its figure (jobs/s, or ms for latency). */
export interface Arm {
  enqueue(count: number, width: number): Promise<number>;
  bulk(count: number): Promise<number>;
  backlog(count: number): Promise<number>;
  /** The `p`-th percentile of `samples` enqueue-to-start times. */
  latency(samples: number, p: number): Promise<number>;
}

export interface ArmSettings {
  /** Jobs per `enqueueMany` or plain bulk call. Default 1,000. */
  readonly chunk?: number;
  /** taskport's worker concurrency (the plain consumer sets its own to match). Default 50. */
  readonly concurrency?: number;
  /** The pause between latency samples, so that each job meets an idle consumer. Default 5–15 ms. */
  readonly idleGap?: () => Promise<void>;
}

export const CHUNK = 1_000;
export const CONCURRENCY = 50;

/** taskport's side of an engine. */
export interface TaskportSide {
  backend(): Backend | Promise<Backend>;
  /** Deletes a queue taskport declared, with what it declared beside it (a dead-letter queue). */
  drop(queue: string): Promise<void>;
}

/** The plain library's side of an engine, over a queue handle `Q` of its own (a name, a URL…). */
export interface PlainSide<Q> {
  /** A new queue, declared as an app of the library would declare it. */
  queue(): Promise<Q>;
  send(queue: Q, i: number): Promise<unknown>;
  /** The jobs `{ i: from }` … `{ i: from + count - 1 }`, added the library's way of adding many. */
  sendMany(queue: Q, from: number, count: number): Promise<unknown>;
  /** A consumer of `queue` at taskport's worker concurrency, calling `onJob` as each job runs. */
  consume(queue: Q, onJob: () => void): Promise<{ close(): Promise<unknown> }>;
  drop(queue: Q): Promise<void>;
}

let seq = 0;

/** A queue name of the benchmark's own, unique in this run. */
export function queueName(arm: string): string {
  return `tp-bench-${arm}-${process.pid}-${++seq}`;
}

function defaultIdleGap(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 5 + Math.random() * 10));
}

function settled(settings: ArmSettings): Required<ArmSettings> {
  return { chunk: CHUNK, concurrency: CONCURRENCY, idleGap: defaultIdleGap, ...settings };
}

/** Let a just-started consumer settle into waiting before latency samples begin. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 300));

export function taskportArm(side: TaskportSide, settings: ArmSettings = {}): Arm {
  const { chunk, concurrency, idleGap } = settled(settings);
  const noop = (backend: Backend, queue: string, onRun: () => void = () => {}) =>
    defineTask("noop", async (_: { i: number }) => onRun(), { queue }).using({ backend });
  const load = async (backend: Backend, queue: string, count: number) => {
    const task = noop(backend, queue);
    for (let i = 0; i < count; i += chunk) {
      await task.enqueueMany(Array.from({ length: Math.min(chunk, count - i) }, (_, j) => ({ i: i + j })));
    }
  };
  return {
    async enqueue(count, width) {
      const backend = await side.backend();
      const queue = queueName("tp");
      const task = noop(backend, queue);
      await task.enqueue({ i: -1 }); // connects and declares, as an app's first enqueue does
      const rate = await timedRate(count, async () => {
        if (width === 1) for (let i = 0; i < count; i++) await task.enqueue({ i });
        else await inParallel(count, width, (i) => task.enqueue({ i }));
      });
      await side.drop(queue);
      return rate;
    },
    async bulk(count) {
      const backend = await side.backend();
      const queue = queueName("tp");
      await noop(backend, queue).enqueue({ i: -1 });
      const rate = await timedRate(count, () => load(backend, queue, count));
      await side.drop(queue);
      return rate;
    },
    async backlog(count) {
      const backend = await side.backend();
      const queue = queueName("tp");
      await load(backend, queue, count);
      const finished = countdown(count);
      const task = noop(backend, queue, () => finished.tick());
      const start = performance.now();
      const worker = await startWorker({ tasks: [task], backend, concurrency });
      await finished.done;
      const rate = perSecond(count, performance.now() - start);
      await worker.close();
      await side.drop(queue);
      return rate;
    },
    async latency(samples, p) {
      const backend = await side.backend();
      const queue = queueName("tp");
      const signal = new StartSignal();
      const task = noop(backend, queue, signal.started);
      await task.enqueue({ i: -1 });
      const worker = await startWorker({ tasks: [task], backend, concurrency });
      await settle();
      const times = await enqueueToStart(samples, signal, (i) => task.enqueue({ i }), idleGap);
      await worker.close();
      await side.drop(queue);
      return percentile(times, p);
    },
  };
}

export function plainArm<Q>(side: PlainSide<Q>, settings: ArmSettings = {}): Arm {
  const { chunk, idleGap } = settled(settings);
  const load = async (queue: Q, count: number) => {
    for (let i = 0; i < count; i += chunk) await side.sendMany(queue, i, Math.min(chunk, count - i));
  };
  return {
    async enqueue(count, width) {
      const queue = await side.queue();
      await side.send(queue, -1);
      const rate = await timedRate(count, async () => {
        if (width === 1) for (let i = 0; i < count; i++) await side.send(queue, i);
        else await inParallel(count, width, (i) => side.send(queue, i));
      });
      await side.drop(queue);
      return rate;
    },
    async bulk(count) {
      const queue = await side.queue();
      await side.send(queue, -1);
      const rate = await timedRate(count, () => load(queue, count));
      await side.drop(queue);
      return rate;
    },
    async backlog(count) {
      const queue = await side.queue();
      await load(queue, count);
      const finished = countdown(count);
      const start = performance.now();
      const consumer = await side.consume(queue, () => finished.tick());
      await finished.done;
      const rate = perSecond(count, performance.now() - start);
      await consumer.close();
      await side.drop(queue);
      return rate;
    },
    async latency(samples, p) {
      const queue = await side.queue();
      const signal = new StartSignal();
      const consumer = await side.consume(queue, signal.started);
      await settle();
      const times = await enqueueToStart(samples, signal, (i) => side.send(queue, i), idleGap);
      await consumer.close();
      await side.drop(queue);
      return percentile(times, p);
    },
  };
}

/** A throughput scenario: higher is better. */
export function jobsPerSecond(name: string, taskport: () => Promise<number>, raw: () => Promise<number>): Scenario {
  return { name, unit: "jobs/s", higherIsBetter: true, taskport, raw };
}

/** A latency scenario: lower is better. */
export function milliseconds(name: string, taskport: () => Promise<number>, raw: () => Promise<number>): Scenario {
  return { name, unit: "ms", higherIsBetter: false, taskport, raw };
}

/** Counts as the scenario names show them: 10,000. */
export const n = (x: number): string => x.toLocaleString("en-US");

/** The counts of {@link queueScenarios}' workloads. */
export interface Sizes {
  readonly sequential: number;
  readonly concurrent: number;
  readonly bulk: number;
  readonly backlog: number;
  /** Enqueue-to-start samples per measurement. */
  readonly latency: number;
}

/**
 * The five rows a queue engine's file usually shows, in this order: sequential enqueue, 50 in
 * flight, bulk, backlog, enqueue-to-start p50. `names` are the engine's, saying how its plain arm does each.
 */
export function queueScenarios(taskport: Arm, raw: Arm, sizes: Sizes, names: Record<keyof Sizes, string>): Scenario[] {
  const { sequential, concurrent, bulk, backlog, latency } = sizes;
  return [
    jobsPerSecond(
      names.sequential,
      () => taskport.enqueue(sequential, 1),
      () => raw.enqueue(sequential, 1),
    ),
    jobsPerSecond(
      names.concurrent,
      () => taskport.enqueue(concurrent, 50),
      () => raw.enqueue(concurrent, 50),
    ),
    jobsPerSecond(
      names.bulk,
      () => taskport.bulk(bulk),
      () => raw.bulk(bulk),
    ),
    jobsPerSecond(
      names.backlog,
      () => taskport.backlog(backlog),
      () => raw.backlog(backlog),
    ),
    milliseconds(
      names.latency,
      () => taskport.latency(latency, 50),
      () => raw.latency(latency, 50),
    ),
  ];
}
