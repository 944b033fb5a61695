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
import { Backend } from "@taskport/core";
import { SqsAdapter } from "@taskport/sqs";
import type { Scenario } from "../harness.ts";
import { CHUNK, CONCURRENCY, n, type PlainSide, plainArm, queueName, queueScenarios, taskportArm } from "../scenarios.ts";

export const title = "SQS (fauxqs 2 in a child process): taskport vs plain @aws-sdk/client-sqs v3";

const SIZES = {
  sequential: Number(process.env.BENCH_SQS_SEQUENTIAL ?? 1_000),
  concurrent: Number(process.env.BENCH_SQS_CONCURRENT ?? 5_000),
  bulk: Number(process.env.BENCH_SQS_BULK ?? 10_000),
  backlog: Number(process.env.BENCH_SQS_BACKLOG ?? 10_000),
  latency: Number(process.env.BENCH_SQS_LATENCY ?? 300),
};
const POLLERS = Math.ceil(CONCURRENCY / 10);
const REGION = "us-east-1";
const CREDENTIALS = { accessKeyId: "bench", secretAccessKey: "bench" };

let emulator: ChildProcess | undefined;
let endpoint: string | undefined;
let adapter: SqsAdapter | undefined;
let backend: Backend | undefined;
let plain: SQSClient | undefined;

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

// ── the plain SDK arm ────────────────────────────────────────────────────────

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
 * deleting them in one batch. Resolves its `close()` once every loop has ended.
 */
function rawConsumer(url: string, onMessage: (payload: { i: number }) => void): { close(): Promise<void> } {
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
    async close() {
      controller.abort();
      await Promise.allSettled(loops);
    },
  };
}

const plainSide: PlainSide<string> = {
  async queue() {
    const { plain } = await setup();
    const out = await plain.send(new CreateQueueCommand({ QueueName: queueName("raw"), Attributes: { VisibilityTimeout: "30" } }));
    return out.QueueUrl as string;
  },
  send: rawSend,
  sendMany: rawSendMany,
  consume: async (url, onJob) => rawConsumer(url, onJob),
  drop: (url) => dropQueue(url.slice(url.lastIndexOf("/") + 1)),
};

const taskport = taskportArm({ backend: async () => (await setup()).backend, drop: dropQueue });
const raw = plainArm(plainSide);

export function scenarios(): Scenario[] {
  return queueScenarios(taskport, raw, SIZES, {
    sequential: `sequential enqueue (${n(SIZES.sequential)})`,
    concurrent: `concurrent enqueue, 50 in flight (${n(SIZES.concurrent)})`,
    bulk: `enqueueMany by ${n(CHUNK)} (${n(SIZES.bulk)}) vs SendMessageBatch by 10, all in flight`,
    backlog: `end-to-end: backlog of ${n(SIZES.backlog)}, concurrency ${CONCURRENCY}, ${POLLERS} pollers`,
    latency: "enqueue-to-start p50, idle consumer",
  });
}

export async function teardown(): Promise<void> {
  await adapter?.close();
  plain?.destroy();
  emulator?.kill();
}
