/**
 * taskport over SQS against plain `@aws-sdk/client-sqs` v3 code doing the same work, on one fauxqs
 * emulator. The emulator runs in a child process, so that its CPU is not taken from the arm being
 * measured (each SDK call costs ~1 ms of CPU in this process; the emulator's work would otherwise
 * land on whichever arm happens to be running).
 *
 * Both arms send the same messages: the payload's JSON as the body and four string/number message
 * attributes (job id, task name, attempts, enqueue time), which is what taskport sends. The plain
 * arm batches as a careful SDK user would: SendMessageBatch by 10, all chunks in flight at once;
 * the same number of long-polling ReceiveMessage loops as taskport's worker (⌈50 / 10⌉ = 5) asking
 * for up to 10 messages each, and one DeleteMessageBatch per received batch after its messages
 * are processed. Processing: a pre-loaded backlog drained at concurrency 50; latency:
 * enqueue-to-start on an idle worker.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { createInterface } from "node:readline";
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  DeleteQueueCommand,
  GetQueueUrlCommand,
  type MessageAttributeValue,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
} from "@aws-sdk/client-sqs";
import { Backend, defineTask, startWorker } from "@taskport/core";
import { SqsAdapter } from "@taskport/sqs";
import type { Scenario } from "../harness.ts";
import { countdown, enqueueToStart, inParallel, percentile, perSecond, StartSignal, timedRate } from "../harness.ts";

export const title = "SQS (fauxqs 2 in a child process): taskport vs plain @aws-sdk/client-sqs v3";

const SEQUENTIAL = Number(process.env.BENCH_SQS_SEQUENTIAL ?? 1_000);
const CONCURRENT = Number(process.env.BENCH_SQS_CONCURRENT ?? 5_000);
const BULK = Number(process.env.BENCH_SQS_BULK ?? 10_000);
const BACKLOG = Number(process.env.BENCH_SQS_BACKLOG ?? 10_000);
const LATENCY_SAMPLES = Number(process.env.BENCH_SQS_LATENCY ?? 300);
const CHUNK = 1_000;
const CONCURRENCY = 50;
const POLLERS = Math.ceil(CONCURRENCY / 10);
const REGION = "us-east-1";
const CREDENTIALS = { accessKeyId: "bench", secretAccessKey: "bench" };

let emulator: ChildProcess | undefined;
let endpoint: string | undefined;
let adapter: SqsAdapter | undefined;
let backend: Backend | undefined;
let plain: SQSClient | undefined;
let seq = 0;

/** Start fauxqs in a child process on a free loopback port; resolves to its endpoint. Also used by the outbox benchmark. */
export async function startEmulator(): Promise<{ endpoint: string; child: ChildProcess }> {
  const child = spawn(
    process.execPath,
    [
      "--input-type=module",
      "-e",
      `import { startFauxqs } from "fauxqs";
       const server = await startFauxqs({ port: 0, host: "127.0.0.1", logger: false });
       console.log(String(server.port));`,
    ],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  emulator = child;
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  const port = await new Promise<string>((resolve, reject) => {
    lines.once("line", resolve);
    child.once("exit", (code) => reject(new Error(`fauxqs exited with code ${code} before listening`)));
  });
  return { endpoint: `http://127.0.0.1:${port.trim()}`, child };
}

async function setup(): Promise<{ backend: Backend; plain: SQSClient }> {
  endpoint ??= (await startEmulator()).endpoint;
  if (!adapter) {
    adapter = new SqsAdapter({ endpoint, region: REGION, credentials: CREDENTIALS, createQueues: true });
    backend = new Backend("bench", adapter);
  }
  plain ??= new SQSClient({ endpoint, region: REGION, credentials: CREDENTIALS });
  return { backend: backend as Backend, plain };
}

function queueName(arm: string): string {
  return `bench-${arm}-${process.pid}-${++seq}`;
}

async function dropQueue(name: string): Promise<void> {
  const { plain } = await setup();
  for (const queue of [name, `${name}-dlq`]) {
    const url = await plain
      .send(new GetQueueUrlCommand({ QueueName: queue }))
      .then((out) => out.QueueUrl)
      .catch(() => undefined);
    if (url) await plain.send(new DeleteQueueCommand({ QueueUrl: url }));
  }
}

function noopTask(queue: string, onRun: (p: { i: number }) => void = () => {}) {
  return defineTask("noop", async (p: { i: number }) => onRun(p), { queue }).using({ backend: backend as Backend });
}

// ── the plain SDK arm ────────────────────────────────────────────────────────

async function rawQueue(): Promise<string> {
  const { plain } = await setup();
  const out = await plain.send(new CreateQueueCommand({ QueueName: queueName("raw"), Attributes: { VisibilityTimeout: "30" } }));
  return out.QueueUrl as string;
}

function rawAttributes(): Record<string, MessageAttributeValue> {
  return {
    "job.id": { DataType: "String", StringValue: randomUUID() },
    "job.name": { DataType: "String", StringValue: "noop" },
    "job.maxAttempts": { DataType: "Number", StringValue: "1" },
    "job.enqueuedAt": { DataType: "Number", StringValue: String(Date.now()) },
  };
}

function rawSend(url: string, i: number): Promise<unknown> {
  return (plain as SQSClient).send(
    new SendMessageCommand({ QueueUrl: url, MessageBody: JSON.stringify({ i }), MessageAttributes: rawAttributes() }),
  );
}

/** `count` messages from `from` on, SendMessageBatch by 10, every chunk in flight at once. */
async function rawSendMany(url: string, from: number, count: number): Promise<void> {
  const calls: Promise<unknown>[] = [];
  for (let i = 0; i < count; i += 10) {
    const entries = Array.from({ length: Math.min(10, count - i) }, (_, j) => ({
      Id: String(j),
      MessageBody: JSON.stringify({ i: from + i + j }),
      MessageAttributes: rawAttributes(),
    }));
    calls.push((plain as SQSClient).send(new SendMessageBatchCommand({ QueueUrl: url, Entries: entries })));
  }
  await Promise.all(calls);
}

/**
 * A plain consumer: `POLLERS` long-polling loops, each receiving up to 10, processing them, then
 * deleting them in one batch. Resolves its `stop()` once every loop has ended.
 */
function rawConsumer(url: string, onMessage: (payload: { i: number }) => void): { stop(): Promise<void> } {
  const controller = new AbortController();
  const client = plain as SQSClient;
  const loops = Array.from({ length: POLLERS }, async () => {
    while (!controller.signal.aborted) {
      try {
        const out = await client.send(
          new ReceiveMessageCommand({
            QueueUrl: url,
            MaxNumberOfMessages: 10,
            WaitTimeSeconds: 20,
            MessageAttributeNames: ["All"],
            MessageSystemAttributeNames: ["ApproximateReceiveCount"],
          }),
          { abortSignal: controller.signal },
        );
        const messages = out.Messages ?? [];
        if (messages.length === 0) continue;
        await Promise.all(messages.map(async (m) => onMessage(JSON.parse(m.Body as string))));
        await client.send(
          new DeleteMessageBatchCommand({
            QueueUrl: url,
            Entries: messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
          }),
        );
      } catch (error) {
        if (!controller.signal.aborted) throw error;
      }
    }
  });
  return {
    async stop() {
      controller.abort();
      await Promise.allSettled(loops);
    },
  };
}

// ── enqueue ──────────────────────────────────────────────────────────────────

async function taskportEnqueue(count: number, width: number): Promise<number> {
  await setup();
  const queue = queueName("tp");
  const task = noopTask(queue);
  await task.enqueue({ i: -1 }); // resolves (and creates) the queue, as the first enqueue of an app does
  const rate = await timedRate(count, async () => {
    if (width === 1) for (let i = 0; i < count; i++) await task.enqueue({ i });
    else await inParallel(count, width, (i) => task.enqueue({ i }));
  });
  await dropQueue(queue);
  return rate;
}

async function rawEnqueue(count: number, width: number): Promise<number> {
  const url = await rawQueue();
  const rate = await timedRate(count, async () => {
    if (width === 1) for (let i = 0; i < count; i++) await rawSend(url, i);
    else await inParallel(count, width, (i) => rawSend(url, i));
  });
  await dropQueue(queueNameOf(url));
  return rate;
}

function queueNameOf(url: string): string {
  return url.slice(url.lastIndexOf("/") + 1);
}

async function taskportLoad(queue: string, count: number): Promise<void> {
  const task = noopTask(queue);
  for (let i = 0; i < count; i += CHUNK) {
    await task.enqueueMany(Array.from({ length: Math.min(CHUNK, count - i) }, (_, j) => ({ i: i + j })));
  }
}

async function rawLoad(url: string, count: number): Promise<void> {
  for (let i = 0; i < count; i += CHUNK) await rawSendMany(url, i, Math.min(CHUNK, count - i));
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
  const url = await rawQueue();
  const rate = await timedRate(BULK, () => rawLoad(url, BULK));
  await dropQueue(queueNameOf(url));
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
  const url = await rawQueue();
  await rawLoad(url, BACKLOG);
  const finished = countdown(BACKLOG);
  const start = performance.now();
  const consumer = rawConsumer(url, () => finished.tick());
  await finished.done;
  const rate = perSecond(BACKLOG, performance.now() - start);
  await consumer.stop();
  await dropQueue(queueNameOf(url));
  return rate;
}

/** Let the consumer go idle between samples, as a lightly loaded queue is. */
function idleGap(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 5 + Math.random() * 10));
}

async function taskportLatency(p: number): Promise<number> {
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
  return percentile(samples, p);
}

async function rawLatency(p: number): Promise<number> {
  const url = await rawQueue();
  const signal = new StartSignal();
  const consumer = rawConsumer(url, signal.started);
  await new Promise((resolve) => setTimeout(resolve, 300));
  const samples = await enqueueToStart(LATENCY_SAMPLES, signal, (i) => rawSend(url, i), idleGap);
  await consumer.stop();
  await dropQueue(queueNameOf(url));
  return percentile(samples, p);
}

export async function scenarios(): Promise<Scenario[]> {
  const n = (x: number) => x.toLocaleString("en-US");
  return [
    {
      name: `sequential enqueue (${n(SEQUENTIAL)})`,
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
      name: `enqueueMany by ${n(CHUNK)} (${n(BULK)}) vs SendMessageBatch by 10, all in flight`,
      unit: "jobs/s",
      higherIsBetter: true,
      taskport: taskportBulk,
      raw: rawBulk,
    },
    {
      name: `end-to-end: backlog of ${n(BACKLOG)}, concurrency ${CONCURRENCY}, ${POLLERS} pollers`,
      unit: "jobs/s",
      higherIsBetter: true,
      taskport: taskportBacklog,
      raw: rawBacklog,
    },
    {
      name: "enqueue-to-start p50, idle consumer",
      unit: "ms",
      higherIsBetter: false,
      taskport: () => taskportLatency(50),
      raw: () => rawLatency(50),
    },
  ];
}

export async function teardown(): Promise<void> {
  await adapter?.close();
  plain?.destroy();
  emulator?.kill();
}
