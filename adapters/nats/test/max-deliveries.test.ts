import { AckPolicy, type JetStreamClient, type JetStreamManager, jetstream, jetstreamManager, RetentionPolicy } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import type { Consumer, Delivery, NewJob, Settlement } from "@taskport/core";
import { Backend, defineTask, startWorker, type Worker } from "@taskport/core";
import { afterEach, expect, test } from "vitest";
import { NatsAdapter, queueNames } from "../src/index.ts";
import { deleteStreams, NATS_ENGINE, NATS_URL } from "./support.ts";

const opened: { worker?: Worker; adapters: NatsAdapter[]; consumers: Consumer[]; queue?: string } = { adapters: [], consumers: [] };
afterEach(async () => {
  await opened.worker?.close({ graceMs: 0 });
  opened.worker = undefined;
  for (const consumer of opened.consumers.splice(0)) await consumer.abandon();
  for (const adapter of opened.adapters.splice(0)) await adapter.close();
  if (opened.queue) await deleteStreams([opened.queue]);
});

function open(options: Partial<ConstructorParameters<typeof NatsAdapter>[0]> = {}): NatsAdapter {
  const adapter = new NatsAdapter({ url: NATS_URL, maxDeliver: 2, ackWaitMs: 1_000, pullExpiresMs: 1_000, ...options });
  opened.adapters.push(adapter);
  return adapter;
}

async function lettersOf(adapter: NatsAdapter, queue: string, withinMs: number) {
  const deadline = Date.now() + withinMs;
  let letters = await adapter.listDeadLetters(queue, 10);
  while (letters.length === 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    letters = await adapter.listDeadLetters(queue, 10);
  }
  return letters;
}

test("a job past maxDeliver deliveries is moved to the dead letters, out of the work stream", async () => {
  const queue = `maxdeliver-${process.pid}-${Date.now()}`;
  opened.queue = queue;
  const adapter = open();
  const backend = new Backend("max-deliveries", adapter);
  const runs: number[] = [];
  // Five attempts allowed by the task, two deliveries by the adapter: the adapter's limit wins.
  const task = defineTask(
    "always-fails",
    async (_: unknown, ctx) => {
      runs.push(ctx.attempt);
      throw new Error("again");
    },
    { queue, retry: { maxAttempts: 5, delayMs: 10, jitter: 0 } },
  ).using({ backend });
  opened.worker = await startWorker({ tasks: [task], backend });
  const handle = await task.enqueue({ keep: "me" } as never);
  const letters = await lettersOf(adapter, queue, 15_000);
  expect(letters.map((l) => [l.id, l.payload, l.error?.name])).toEqual([[handle.id, { keep: "me" }, "MaxDeliveriesError"]]);
  expect(runs).toEqual([1, 2]);
  expect(await workMessages(queue)).toBe(0);
});

test("a job whose worker died on its last delivery, with no worker running when its lease ran out, reaches the dead letters once a worker starts", async () => {
  const queue = `maxdeliver-dead-${process.pid}-${Date.now()}`;
  opened.queue = queue;
  const job: NewJob = {
    id: `job-${Date.now()}`,
    name: "crashes",
    queue,
    payload: { n: 1 },
    payloadJson: '{"n":1}',
    priority: 0,
    maxAttempts: 5,
    enqueuedAt: Date.now(),
  };
  const first = open();
  await first.enqueue([job]);
  const seen: number[] = [];
  let dying: Consumer | undefined;
  const lastDelivery = new Promise<void>((resolve) => {
    const handler = async (delivery: Delivery): Promise<Settlement> => {
      seen.push(delivery.attempt);
      if (delivery.attempt === 1) return { status: "failed", error: { name: "Error", message: "again" }, retryInMs: 10 };
      // The worker dies on the job's last delivery: nothing is settled, nothing more is pulled.
      void dying?.abandon();
      resolve();
      return new Promise<Settlement>(() => {});
    };
    void first.consume({ queues: [queue], concurrency: 1 }, handler).then((consumer) => {
      dying = consumer;
      opened.consumers.push(consumer);
    });
  });
  await lastDelivery;
  await first.close();
  // The lease runs out (1 s) and then some, with no worker of the queue running. Then a pull that
  // no advisory listener goes with (a worker starting, or reconnecting) takes nothing: a 2.9
  // server gives up on the job at that pull, a newer one already when the lease ran out, and the
  // MAX_DELIVERIES advisory goes unheard either way.
  await new Promise((resolve) => setTimeout(resolve, 2_500));
  await pullWithoutListening(queue);
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  const second = open();
  const runsAfter: number[] = [];
  opened.consumers.push(
    await second.consume({ queues: [queue], concurrency: 1 }, async (delivery) => {
      runsAfter.push(delivery.attempt);
      return { status: "succeeded", result: null, resultJson: "null" };
    }),
  );
  const letters = await lettersOf(second, queue, 15_000);
  expect(letters.map((l) => [l.id, l.error?.name, l.attempt])).toEqual([[job.id, "MaxDeliveriesError", 2]]);
  expect(seen).toEqual([1, 2]);
  expect(runsAfter).toEqual([]);
  expect(await workMessages(queue)).toBe(0);
});

test("a work consumer an earlier version declared with a max_deliver delivers without limit once a worker starts", async () => {
  const queue = `maxdeliver-old-${process.pid}-${Date.now()}`;
  opened.queue = queue;
  const adapter = open();
  await withServer(async (_, jsm) => {
    const names = queueNames(queue);
    await jsm.streams.add({ name: names.stream, subjects: [names.jobSubject, names.delayedSubject], retention: RetentionPolicy.Workqueue });
    await jsm.consumers.add(names.stream, {
      durable_name: "work",
      filter_subject: names.jobSubject,
      ack_policy: AckPolicy.Explicit,
      max_deliver: 2,
    });
  });
  opened.consumers.push(
    await adapter.consume({ queues: [queue], concurrency: 1 }, async () => ({ status: "succeeded", result: null, resultJson: "null" })),
  );
  const maxDeliver = await withServer(async (_, jsm) => (await jsm.consumers.info(queueNames(queue).stream, "work")).config.max_deliver);
  expect(maxDeliver).toBe(-1);
});

async function withServer<T>(work: (js: JetStreamClient, jsm: JetStreamManager) => Promise<T>): Promise<T> {
  const nc = await connect({ servers: `${NATS_ENGINE().host}:${NATS_ENGINE().port}` });
  try {
    return await work(jetstream(nc), await jetstreamManager(nc));
  } finally {
    await nc.close();
  }
}

/** One pull on the queue's work consumer, as a worker's would be, leaving what it gets unsettled. */
function pullWithoutListening(queue: string): Promise<void> {
  return withServer(async (js) => {
    const consumer = await js.consumers.get(queueNames(queue).stream, "work");
    const messages = await consumer.fetch({ max_messages: 1, expires: 1_000 });
    for await (const _ of messages) break;
  });
}

/** Messages left in the queue's work stream. */
function workMessages(queue: string): Promise<number> {
  return withServer(async (_, jsm) => (await jsm.streams.info(queueNames(queue).stream)).state.messages);
}
