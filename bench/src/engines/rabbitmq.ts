/**
 * taskport over RabbitMQ against plain amqplib 2 doing the same work: a confirm channel, persistent
 * JSON messages with a messageId and type into a durable classic queue with `x-max-priority`, a
 * consumer with manual ack and the same prefetch. Enqueue (sequential, 50 in flight, batches),
 * end-to-end processing of a backlog, and enqueue-to-start latency on an idle worker. taskport's
 * worker acknowledges a turn's settled jobs together; the plain consumer acks each message, as
 * amqplib's examples do, and in a second end-to-end row batches its acks the same way.
 */
import { randomUUID } from "node:crypto";
import { Backend, defineTask, startWorker } from "@taskport/core";
import { RabbitMQAdapter } from "@taskport/rabbitmq";
import { type ChannelModel, type ConfirmChannel, type ConsumeMessage, connect } from "amqplib";
import type { Scenario } from "../harness.ts";
import { countdown, enqueueToStart, inParallel, percentile, perSecond, StartSignal, timedRate } from "../harness.ts";

export const title = "RabbitMQ 3.10: taskport vs plain amqplib 2 (confirms, persistent, manual ack)";

const URL = process.env.TASKPORT_AMQP_URL ?? "amqp://guest:guest@127.0.0.1:5672";
const SEQUENTIAL = Number(process.env.BENCH_AMQP_SEQUENTIAL ?? 2_000);
const CONCURRENT = Number(process.env.BENCH_AMQP_CONCURRENT ?? 10_000);
const BULK = Number(process.env.BENCH_AMQP_BULK ?? 20_000);
const BACKLOG = Number(process.env.BENCH_AMQP_BACKLOG ?? 20_000);
const LATENCY_SAMPLES = Number(process.env.BENCH_AMQP_LATENCY ?? 300);
const CHUNK = 1_000;
const CONCURRENCY = 50;
/** What the adapter declares: a durable classic queue with priorities. */
const QUEUE_ARGS = { durable: true, arguments: { "x-queue-type": "classic", "x-max-priority": 10 } };

let adapter: RabbitMQAdapter | undefined;
let backend: Backend | undefined;
let plain: ChannelModel | undefined;
let confirm: ConfirmChannel | undefined;
let seq = 0;

async function setup(): Promise<{ backend: Backend; plain: ChannelModel; confirm: ConfirmChannel }> {
  if (!adapter) {
    adapter = new RabbitMQAdapter({ url: URL, connectionName: "tp-bench-taskport" });
    backend = new Backend("bench", adapter);
  }
  if (!plain) {
    plain = await connect(URL, { clientProperties: { connection_name: "tp-bench-plain" } });
    confirm = await plain.createConfirmChannel();
  }
  return { backend: backend as Backend, plain, confirm: confirm as ConfirmChannel };
}

function queueName(arm: string): string {
  return `tp-bench-${arm}-${process.pid}-${++seq}`;
}

async function dropQueue(name: string): Promise<void> {
  const { plain } = await setup();
  const channel = await plain.createChannel();
  await channel.deleteQueue(name);
  await channel.deleteQueue(`${name}.dead`);
  await channel.close();
}

function noopTask(queue: string, onRun: (p: { i: number }) => void = () => {}) {
  return defineTask("noop", async (p: { i: number }) => onRun(p), { queue }).using({ backend: backend as Backend });
}

/** What a plain amqplib producer sends and waits for: one persistent JSON message, confirmed. */
function rawPublish(channel: ConfirmChannel, queue: string, payload: unknown): Promise<void> {
  return new Promise((resolve, reject) => {
    channel.sendToQueue(
      queue,
      Buffer.from(JSON.stringify(payload)),
      { persistent: true, contentType: "application/json", messageId: randomUUID(), type: "noop", priority: 5 },
      (error) => (error ? reject(error) : resolve()),
    );
  });
}

async function rawQueue(): Promise<string> {
  const { plain } = await setup();
  const queue = queueName("raw");
  const channel = await plain.createChannel();
  await channel.assertQueue(queue, QUEUE_ARGS);
  await channel.close();
  return queue;
}

// ── enqueue ──────────────────────────────────────────────────────────────────

async function taskportEnqueue(count: number, width: number): Promise<number> {
  await setup();
  const queue = queueName("tp");
  const task = noopTask(queue);
  await task.enqueue({ i: -1 }); // declares the queue, as the first enqueue of an app does
  const rate = await timedRate(count, async () => {
    if (width === 1) for (let i = 0; i < count; i++) await task.enqueue({ i });
    else await inParallel(count, width, (i) => task.enqueue({ i }));
  });
  await dropQueue(queue);
  return rate;
}

async function rawEnqueue(count: number, width: number): Promise<number> {
  const { confirm } = await setup();
  const queue = await rawQueue();
  const rate = await timedRate(count, async () => {
    if (width === 1) for (let i = 0; i < count; i++) await rawPublish(confirm, queue, { i });
    else await inParallel(count, width, (i) => rawPublish(confirm, queue, { i }));
  });
  await dropQueue(queue);
  return rate;
}

async function taskportLoad(queue: string, count: number): Promise<void> {
  const task = noopTask(queue);
  for (let i = 0; i < count; i += CHUNK) {
    await task.enqueueMany(Array.from({ length: Math.min(CHUNK, count - i) }, (_, j) => ({ i: i + j })));
  }
}

async function rawLoad(queue: string, count: number): Promise<void> {
  const { confirm } = await setup();
  for (let i = 0; i < count; i += CHUNK) {
    await Promise.all(Array.from({ length: Math.min(CHUNK, count - i) }, (_, j) => rawPublish(confirm, queue, { i: i + j })));
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
  const queue = await rawQueue();
  const rate = await timedRate(BULK, () => rawLoad(queue, BULK));
  await dropQueue(queue);
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

/**
 * `ackPerTurn`: the plain consumer acknowledges as taskport's worker does, once per event-loop turn
 * with `multiple` (safe here: its handler settles every delivery at once, in order).
 */
async function rawBacklog(ackPerTurn: boolean): Promise<number> {
  const { plain } = await setup();
  const queue = await rawQueue();
  await rawLoad(queue, BACKLOG);
  const finished = countdown(BACKLOG);
  const start = performance.now();
  const channel = await plain.createChannel();
  await channel.prefetch(CONCURRENCY, false);
  let lastSettled: ConsumeMessage | undefined;
  const ackSettled = () => {
    if (lastSettled) channel.ack(lastSettled, true);
    lastSettled = undefined;
  };
  const { consumerTag } = await channel.consume(queue, (msg) => {
    if (!msg) return;
    void (async () => {
      JSON.parse(msg.content.toString("utf8"));
      if (!ackPerTurn) channel.ack(msg);
      else {
        if (lastSettled === undefined) setImmediate(ackSettled);
        lastSettled = msg;
      }
      finished.tick();
    })();
  });
  await finished.done;
  const rate = perSecond(BACKLOG, performance.now() - start);
  await channel.cancel(consumerTag);
  ackSettled();
  await channel.close();
  await dropQueue(queue);
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
  const { plain, confirm } = await setup();
  const queue = await rawQueue();
  const signal = new StartSignal();
  const channel = await plain.createChannel();
  await channel.prefetch(CONCURRENCY, false);
  const { consumerTag } = await channel.consume(queue, (msg) => {
    if (!msg) return;
    JSON.parse(msg.content.toString("utf8"));
    signal.started();
    channel.ack(msg);
  });
  await new Promise((resolve) => setTimeout(resolve, 300));
  const samples = await enqueueToStart(LATENCY_SAMPLES, signal, (i) => rawPublish(confirm, queue, { i }), idleGap);
  await channel.cancel(consumerTag);
  await channel.close();
  await dropQueue(queue);
  return percentile(samples, 50);
}

export async function scenarios(): Promise<Scenario[]> {
  const n = (x: number) => x.toLocaleString("en-US");
  return [
    {
      name: `sequential enqueue (${n(SEQUENTIAL)}), confirmed`,
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
      name: `enqueueMany by ${n(CHUNK)} (${n(BULK)}) vs ${n(CHUNK)} confirms awaited together`,
      unit: "jobs/s",
      higherIsBetter: true,
      taskport: taskportBulk,
      raw: rawBulk,
    },
    {
      name: `end-to-end: backlog of ${n(BACKLOG)}, prefetch ${CONCURRENCY}, manual ack`,
      unit: "jobs/s",
      higherIsBetter: true,
      taskport: taskportBacklog,
      raw: () => rawBacklog(false),
    },
    {
      name: "end-to-end as above, plain arm also acking once per turn (multiple)",
      unit: "jobs/s",
      higherIsBetter: true,
      taskport: taskportBacklog,
      raw: () => rawBacklog(true),
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
  await plain?.close();
}
