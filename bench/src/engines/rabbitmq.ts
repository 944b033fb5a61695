/**
 * taskport over RabbitMQ against plain amqplib 2 doing the same work: a confirm channel, persistent
 * JSON messages with a messageId and type into a durable classic queue with `x-max-priority`, a
 * consumer with manual ack and the same prefetch. Enqueue (sequential, 50 in flight, batches),
 * end-to-end processing of a backlog, and enqueue-to-start latency on an idle worker. taskport's
 * worker acknowledges a turn's settled jobs together; the plain consumer acks each message, as
 * amqplib's examples do, and in a second end-to-end row batches its acks the same way.
 */
import { randomUUID } from "node:crypto";
import { Backend } from "@taskport/core";
import { RabbitMQAdapter } from "@taskport/rabbitmq";
import { type ChannelModel, type ConfirmChannel, type ConsumeMessage, connect } from "amqplib";
import type { Scenario } from "../harness.ts";
import { CHUNK, CONCURRENCY, jobsPerSecond, n, type PlainSide, plainArm, queueName, queueScenarios, taskportArm } from "../scenarios.ts";

export const title = "RabbitMQ 3.10: taskport vs plain amqplib 2 (confirms, persistent, manual ack)";

const URL = process.env.TASKPORT_AMQP_URL ?? "amqp://guest:guest@127.0.0.1:5672";
const SIZES = {
  sequential: Number(process.env.BENCH_AMQP_SEQUENTIAL ?? 2_000),
  concurrent: Number(process.env.BENCH_AMQP_CONCURRENT ?? 10_000),
  bulk: Number(process.env.BENCH_AMQP_BULK ?? 20_000),
  backlog: Number(process.env.BENCH_AMQP_BACKLOG ?? 20_000),
  latency: Number(process.env.BENCH_AMQP_LATENCY ?? 300),
};
/** What the adapter declares: a durable classic queue with priorities. */
const QUEUE_ARGS = { durable: true, arguments: { "x-queue-type": "classic", "x-max-priority": 10 } };
/** Let the consumer go idle between samples, as a lightly loaded queue is. */
const SETTINGS = { idleGap: () => new Promise<void>((resolve) => setTimeout(resolve, 5)) };

let adapter: RabbitMQAdapter | undefined;
let backend: Backend | undefined;
let plain: Promise<{ model: ChannelModel; confirm: ConfirmChannel }> | undefined;

function connectPlain(): Promise<{ model: ChannelModel; confirm: ConfirmChannel }> {
  plain ??= (async () => {
    const model = await connect(URL, { clientProperties: { connection_name: "tp-bench-plain" } });
    return { model, confirm: await model.createConfirmChannel() };
  })();
  return plain;
}

async function dropQueue(name: string): Promise<void> {
  const channel = await (await connectPlain()).model.createChannel();
  await channel.deleteQueue(name);
  await channel.deleteQueue(`${name}.dead`);
  await channel.close();
}

/** What a plain amqplib producer sends and waits for: one persistent JSON message, confirmed. */
function rawPublish(confirm: ConfirmChannel, queue: string, payload: unknown): Promise<void> {
  return new Promise((resolve, reject) => {
    confirm.sendToQueue(
      queue,
      Buffer.from(JSON.stringify(payload)),
      { persistent: true, contentType: "application/json", messageId: randomUUID(), type: "noop", priority: 5 },
      (error) => (error ? reject(error) : resolve()),
    );
  });
}

/**
 * `ackPerTurn`: the plain consumer acknowledges as taskport's worker does, once per event-loop turn
 * with `multiple` (safe here: its handler settles every delivery at once, in order).
 */
function plainSide(ackPerTurn: boolean): PlainSide<{ name: string; confirm: ConfirmChannel }> {
  return {
    async queue() {
      const { model, confirm } = await connectPlain();
      const name = queueName("raw");
      const channel = await model.createChannel();
      await channel.assertQueue(name, QUEUE_ARGS);
      await channel.close();
      return { name, confirm };
    },
    send: ({ name, confirm }, i) => rawPublish(confirm, name, { i }),
    sendMany: ({ name, confirm }, from, count) =>
      Promise.all(Array.from({ length: count }, (_, j) => rawPublish(confirm, name, { i: from + j }))),
    async consume({ name }, onJob) {
      const channel = await (await connectPlain()).model.createChannel();
      await channel.prefetch(CONCURRENCY, false);
      let lastSettled: ConsumeMessage | undefined;
      const ackSettled = () => {
        if (lastSettled) channel.ack(lastSettled, true);
        lastSettled = undefined;
      };
      const { consumerTag } = await channel.consume(name, (msg) => {
        if (!msg) return;
        JSON.parse(msg.content.toString("utf8"));
        onJob();
        if (!ackPerTurn) channel.ack(msg);
        else {
          if (lastSettled === undefined) setImmediate(ackSettled);
          lastSettled = msg;
        }
      });
      return {
        async close() {
          await channel.cancel(consumerTag);
          ackSettled();
          await channel.close();
        },
      };
    },
    drop: ({ name }) => dropQueue(name),
  };
}

const taskport = taskportArm(
  {
    backend: () => {
      adapter ??= new RabbitMQAdapter({ url: URL, connectionName: "tp-bench-taskport" });
      backend ??= new Backend("bench", adapter);
      return backend;
    },
    drop: dropQueue,
  },
  SETTINGS,
);
const raw = plainArm(plainSide(false), SETTINGS);
const rawAckPerTurn = plainArm(plainSide(true), SETTINGS);

export function scenarios(): Scenario[] {
  const [sequential, concurrent, bulk, backlog, latency] = queueScenarios(taskport, raw, SIZES, {
    sequential: `sequential enqueue (${n(SIZES.sequential)}), confirmed`,
    concurrent: `concurrent enqueue, 50 in flight (${n(SIZES.concurrent)})`,
    bulk: `enqueueMany by ${n(CHUNK)} (${n(SIZES.bulk)}) vs ${n(CHUNK)} confirms awaited together`,
    backlog: `end-to-end: backlog of ${n(SIZES.backlog)}, prefetch ${CONCURRENCY}, manual ack`,
    latency: "enqueue-to-start p50, idle consumer",
  });
  const backlogAckPerTurn = jobsPerSecond(
    "end-to-end as above, plain arm also acking once per turn (multiple)",
    () => taskport.backlog(SIZES.backlog),
    () => rawAckPerTurn.backlog(SIZES.backlog),
  );
  return [sequential, concurrent, bulk, backlog, backlogAckPerTurn, latency] as Scenario[];
}

export async function teardown(): Promise<void> {
  await adapter?.close();
  if (plain) await (await plain).model.close();
}
