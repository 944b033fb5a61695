/**
 * taskport over NATS JetStream against plain @nats-io/jetstream 3 doing the same work: JSON
 * messages with a message id (and the task's name in a header) published to a work-queue stream on
 * file storage and acknowledged by the server; a durable pull consumer with explicit acks, read with
 * the client's `consume()` and acked one by one. Enqueue (sequential, 50 in flight, batches),
 * end-to-end processing of a backlog, and enqueue-to-start latency on an idle worker.
 */
import { randomUUID } from "node:crypto";
import {
  AckPolicy,
  DeliverPolicy,
  type JetStreamClient,
  type JetStreamManager,
  jetstream,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
} from "@nats-io/jetstream";
import { connect, headers, type NatsConnection, nanos } from "@nats-io/transport-node";
import { Backend, defineTask, startWorker } from "@taskport/core";
import { NatsAdapter, queueNames } from "@taskport/nats";
import type { Scenario } from "../harness.ts";
import { countdown, enqueueToStart, inParallel, percentile, perSecond, StartSignal, timedRate } from "../harness.ts";

export const title = "NATS JetStream 2.9: taskport vs plain @nats-io/jetstream 3 (work-queue stream, acked publishes, pull consumer)";

const URL = process.env.TASKPORT_NATS_URL ?? "nats://127.0.0.1:4222";
const SEQUENTIAL = Number(process.env.BENCH_NATS_SEQUENTIAL ?? 2_000);
const CONCURRENT = Number(process.env.BENCH_NATS_CONCURRENT ?? 10_000);
const BULK = Number(process.env.BENCH_NATS_BULK ?? 20_000);
const BACKLOG = Number(process.env.BENCH_NATS_BACKLOG ?? 20_000);
const LATENCY_SAMPLES = Number(process.env.BENCH_NATS_LATENCY ?? 300);
const CHUNK = 1_000;
const CONCURRENCY = 50;

let adapter: NatsAdapter | undefined;
let backend: Backend | undefined;
let plain: { nc: NatsConnection; js: JetStreamClient; jsm: JetStreamManager } | undefined;
let seq = 0;

async function setup(): Promise<{ backend: Backend; js: JetStreamClient; jsm: JetStreamManager }> {
  if (!adapter) {
    adapter = new NatsAdapter({ url: URL });
    backend = new Backend("bench", adapter);
  }
  if (!plain) {
    const nc = await connect({ servers: new globalThis.URL(URL).host });
    plain = { nc, js: jetstream(nc), jsm: await jetstreamManager(nc) };
  }
  return { backend: backend as Backend, js: plain.js, jsm: plain.jsm };
}

function queueName(arm: string): string {
  return `tp-bench-${arm}-${process.pid}-${++seq}`;
}

async function dropQueue(queue: string): Promise<void> {
  const { jsm } = await setup();
  const names = queueNames(queue);
  await jsm.streams.delete(names.stream).catch(() => false);
  await jsm.streams.delete(names.deadStream).catch(() => false);
}

function noopTask(queue: string, onRun: (p: { i: number }) => void = () => {}) {
  return defineTask("noop", async (p: { i: number }) => onRun(p), { queue }).using({ backend: backend as Backend });
}

/** The plain arm's stream and consumer: what a JetStream app declares for a work queue. */
async function rawQueue(): Promise<{ stream: string; subject: string }> {
  const { jsm } = await setup();
  const queue = queueName("raw");
  const { stream, jobSubject: subject } = queueNames(queue);
  await jsm.streams.add({ name: stream, subjects: [subject], retention: RetentionPolicy.Workqueue, storage: StorageType.File });
  await jsm.consumers.add(stream, {
    durable_name: "work",
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: nanos(30_000),
  });
  return { stream, subject };
}

/** What a plain JetStream producer sends and waits for: one JSON message with an id, acknowledged. */
function rawPublish(js: JetStreamClient, subject: string, payload: unknown): Promise<unknown> {
  const h = headers();
  h.set("task", "noop");
  return js.publish(subject, JSON.stringify(payload), { msgID: randomUUID(), headers: h });
}

// ── enqueue ──────────────────────────────────────────────────────────────────

async function taskportEnqueue(count: number, width: number): Promise<number> {
  await setup();
  const queue = queueName("tp");
  const task = noopTask(queue);
  await task.enqueue({ i: -1 }); // declares the streams, as the first enqueue of an app does
  const rate = await timedRate(count, async () => {
    if (width === 1) for (let i = 0; i < count; i++) await task.enqueue({ i });
    else await inParallel(count, width, (i) => task.enqueue({ i }));
  });
  await dropQueue(queue);
  return rate;
}

async function rawEnqueue(count: number, width: number): Promise<number> {
  const { js } = await setup();
  const { stream, subject } = await rawQueue();
  const rate = await timedRate(count, async () => {
    if (width === 1) for (let i = 0; i < count; i++) await rawPublish(js, subject, { i });
    else await inParallel(count, width, (i) => rawPublish(js, subject, { i }));
  });
  await (await setup()).jsm.streams.delete(stream);
  return rate;
}

async function taskportLoad(queue: string, count: number): Promise<void> {
  const task = noopTask(queue);
  for (let i = 0; i < count; i += CHUNK) {
    await task.enqueueMany(Array.from({ length: Math.min(CHUNK, count - i) }, (_, j) => ({ i: i + j })));
  }
}

async function rawLoad(subject: string, count: number): Promise<void> {
  const { js } = await setup();
  for (let i = 0; i < count; i += CHUNK) {
    await Promise.all(Array.from({ length: Math.min(CHUNK, count - i) }, (_, j) => rawPublish(js, subject, { i: i + j })));
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

async function rawBulk(): Promise<number> {
  const { stream, subject } = await rawQueue();
  const rate = await timedRate(BULK, () => rawLoad(subject, BULK));
  await (await setup()).jsm.streams.delete(stream);
  return rate;
}

// ── processing ───────────────────────────────────────────────────────────────

async function taskportBacklog(): Promise<number> {
  const { backend } = await setup();
  const queue = queueName("tp");
  await taskportLoad(queue, BACKLOG);
  const finished = countdown(BACKLOG);
  const task = noopTask(queue, () => finished.tick());
  const start = performance.now();
  const worker = await startWorker({ tasks: [task], backend, concurrency: CONCURRENCY });
  await finished.done;
  const rate = perSecond(BACKLOG, performance.now() - start);
  await worker.close();
  await dropQueue(queue);
  return rate;
}

async function rawBacklog(): Promise<number> {
  const { js, jsm } = await setup();
  const { stream, subject } = await rawQueue();
  await rawLoad(subject, BACKLOG);
  const finished = countdown(BACKLOG);
  const start = performance.now();
  const consumer = await js.consumers.get(stream, "work");
  const messages = await consumer.consume({ max_messages: CONCURRENCY });
  void (async () => {
    for await (const msg of messages) {
      msg.json();
      msg.ack();
      finished.tick();
    }
  })();
  await finished.done;
  const rate = perSecond(BACKLOG, performance.now() - start);
  await messages.close();
  await jsm.streams.delete(stream);
  return rate;
}

/** Let the consumer go idle between samples, as a lightly loaded queue is. */
function idleGap(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 5));
}

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

async function rawLatency(): Promise<number> {
  const { js, jsm } = await setup();
  const { stream, subject } = await rawQueue();
  const signal = new StartSignal();
  const consumer = await js.consumers.get(stream, "work");
  const messages = await consumer.consume({ max_messages: CONCURRENCY });
  void (async () => {
    for await (const msg of messages) {
      msg.json();
      signal.started();
      msg.ack();
    }
  })();
  await new Promise((resolve) => setTimeout(resolve, 300));
  const samples = await enqueueToStart(LATENCY_SAMPLES, signal, (i) => rawPublish(js, subject, { i }), idleGap);
  await messages.close();
  await jsm.streams.delete(stream);
  return percentile(samples, 50);
}

export async function scenarios(): Promise<Scenario[]> {
  const n = (x: number) => x.toLocaleString("en-US");
  return [
    {
      name: `sequential enqueue (${n(SEQUENTIAL)}), acknowledged`,
      unit: "jobs/s",
      higherIsBetter: true,
      taskport: () => taskportEnqueue(SEQUENTIAL, 1),
      raw: () => rawEnqueue(SEQUENTIAL, 1),
    },
    {
      name: `concurrent enqueue, 50 in flight (${n(CONCURRENT)})`,
      unit: "jobs/s",
      higherIsBetter: true,
      taskport: () => taskportEnqueue(CONCURRENT, 50),
      raw: () => rawEnqueue(CONCURRENT, 50),
    },
    {
      name: `enqueueMany by ${n(CHUNK)} (${n(BULK)}) vs ${n(CHUNK)} publishes awaited together`,
      unit: "jobs/s",
      higherIsBetter: true,
      taskport: taskportBulk,
      raw: rawBulk,
    },
    {
      name: `end-to-end: backlog of ${n(BACKLOG)}, concurrency ${CONCURRENCY} vs consume(${CONCURRENCY}), ack each`,
      unit: "jobs/s",
      higherIsBetter: true,
      taskport: taskportBacklog,
      raw: rawBacklog,
    },
    {
      name: "enqueue-to-start p50, idle consumer",
      unit: "ms",
      higherIsBetter: false,
      taskport: taskportLatency,
      raw: rawLatency,
    },
  ];
}

export async function teardown(): Promise<void> {
  await adapter?.close();
  await plain?.nc.close();
}
