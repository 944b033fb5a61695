/**
 * taskport over NATS JetStream against plain @nats-io/jetstream 3 doing the same work: JSON
 * messages with a message id (and the task's name in a header) published to a work-queue stream on
 * file storage and acknowledged by the server; a durable pull consumer with explicit acks, read with
 * the client's `consume()` and acked one by one. Enqueue (sequential, 50 in flight, batches),
 * end-to-end processing of a backlog, and enqueue-to-start latency on an idle worker. Two more rows
 * give the plain client taskport's connection option `noAsyncTraces` (no Error built per request
 * for its stack), to separate what that option saves from what taskport itself costs.
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
import { Backend } from "@taskport/core";
import { NatsAdapter, queueNames } from "@taskport/nats";
import type { Scenario } from "../harness.ts";
import { CHUNK, CONCURRENCY, jobsPerSecond, n, type PlainSide, plainArm, queueName, queueScenarios, taskportArm } from "../scenarios.ts";

export const title = "NATS JetStream 2.9: taskport vs plain @nats-io/jetstream 3 (work-queue stream, acked publishes, pull consumer)";

const URL = process.env.TASKPORT_NATS_URL ?? "nats://127.0.0.1:4222";
const SIZES = {
  sequential: Number(process.env.BENCH_NATS_SEQUENTIAL ?? 2_000),
  concurrent: Number(process.env.BENCH_NATS_CONCURRENT ?? 10_000),
  bulk: Number(process.env.BENCH_NATS_BULK ?? 20_000),
  backlog: Number(process.env.BENCH_NATS_BACKLOG ?? 20_000),
  latency: Number(process.env.BENCH_NATS_LATENCY ?? 300),
};
/** Let the consumer go idle between samples, as a lightly loaded queue is. */
const SETTINGS = { idleGap: () => new Promise<void>((resolve) => setTimeout(resolve, 5)) };

let adapter: NatsAdapter | undefined;
let backend: Backend | undefined;
type PlainConnection = { nc: NatsConnection; js: JetStreamClient; jsm: JetStreamManager };
const plain = new Map<boolean, Promise<PlainConnection>>();

/** The plain client's connection: with its defaults, or `tuned` with taskport's `noAsyncTraces`. */
function connectPlain(tuned = false): Promise<PlainConnection> {
  let connection = plain.get(tuned);
  if (!connection) {
    connection = (async () => {
      const nc = await connect({ servers: new globalThis.URL(URL).host, ...(tuned ? { noAsyncTraces: true } : {}) });
      return { nc, js: jetstream(nc), jsm: await jetstreamManager(nc) };
    })();
    plain.set(tuned, connection);
  }
  return connection;
}

interface RawQueue {
  readonly stream: string;
  readonly subject: string;
  readonly js: JetStreamClient;
}

/** What a plain JetStream producer sends and waits for: one JSON message with an id, acknowledged. */
function rawPublish(js: JetStreamClient, subject: string, payload: unknown): Promise<unknown> {
  const h = headers();
  h.set("task", "noop");
  return js.publish(subject, JSON.stringify(payload), { msgID: randomUUID(), headers: h });
}

const plainSide = (tuned: boolean): PlainSide<RawQueue> => ({
  /** The stream and consumer a JetStream app declares for a work queue. */
  async queue() {
    const { js, jsm } = await connectPlain(tuned);
    const { stream, jobSubject: subject } = queueNames(queueName("raw"));
    await jsm.streams.add({ name: stream, subjects: [subject], retention: RetentionPolicy.Workqueue, storage: StorageType.File });
    await jsm.consumers.add(stream, {
      durable_name: "work",
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      ack_wait: nanos(30_000),
    });
    return { stream, subject, js };
  },
  send: ({ js, subject }, i) => rawPublish(js, subject, { i }),
  sendMany: ({ js, subject }, from, count) =>
    Promise.all(Array.from({ length: count }, (_, j) => rawPublish(js, subject, { i: from + j }))),
  async consume({ js, stream }, onJob) {
    const consumer = await js.consumers.get(stream, "work");
    const messages = await consumer.consume({ max_messages: CONCURRENCY });
    void (async () => {
      for await (const msg of messages) {
        msg.json();
        onJob();
        msg.ack();
      }
    })();
    return messages;
  },
  async drop({ stream }) {
    await (await connectPlain()).jsm.streams.delete(stream);
  },
});

const taskport = taskportArm(
  {
    backend: () => {
      adapter ??= new NatsAdapter({ url: URL });
      backend ??= new Backend("bench", adapter);
      return backend;
    },
    async drop(queue) {
      const { jsm } = await connectPlain();
      const names = queueNames(queue);
      await jsm.streams.delete(names.stream).catch(() => false);
      await jsm.streams.delete(names.deadStream).catch(() => false);
    },
  },
  SETTINGS,
);
const raw = plainArm(plainSide(false), SETTINGS);
const rawTuned = plainArm(plainSide(true), SETTINGS);

export function scenarios(): Scenario[] {
  return [
    ...queueScenarios(taskport, raw, SIZES, {
      sequential: `sequential enqueue (${n(SIZES.sequential)}), acknowledged`,
      concurrent: `concurrent enqueue, 50 in flight (${n(SIZES.concurrent)})`,
      bulk: `enqueueMany by ${n(CHUNK)} (${n(SIZES.bulk)}) vs ${n(CHUNK)} publishes awaited together`,
      backlog: `end-to-end: backlog of ${n(SIZES.backlog)}, concurrency ${CONCURRENCY} vs consume(${CONCURRENCY}), ack each`,
      latency: "enqueue-to-start p50, idle consumer",
    }),
    jobsPerSecond(
      `enqueueMany by ${n(CHUNK)} (${n(SIZES.bulk)}), plain client with noAsyncTraces too`,
      () => taskport.bulk(SIZES.bulk),
      () => rawTuned.bulk(SIZES.bulk),
    ),
    jobsPerSecond(
      `end-to-end: backlog of ${n(SIZES.backlog)}, plain client with noAsyncTraces too`,
      () => taskport.backlog(SIZES.backlog),
      () => rawTuned.backlog(SIZES.backlog),
    ),
  ];
}

export async function teardown(): Promise<void> {
  await adapter?.close();
  for (const connection of plain.values()) await (await connection).nc.close();
}
