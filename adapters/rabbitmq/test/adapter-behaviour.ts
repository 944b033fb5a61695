import { randomBytes } from "node:crypto";
import {
  Backend,
  ConnectionError,
  defineTask,
  PayloadTooLargeError,
  SerializationError,
  startWorker,
  UnsupportedFeatureError,
  type Worker,
} from "@taskport/core";
import { connect } from "amqplib";
import { afterEach, describe, expect, it } from "vitest";
import { closeModel } from "../src/connection.ts";
import { HEADER, RabbitMQAdapter } from "../src/index.ts";
import { readMessage } from "../src/message-format.ts";
import { AMQP_URL, amqpRelay, closeConnectionsNamed, deleteQueues, restartRabbit } from "./support.ts";

const opened: { adapters: RabbitMQAdapter[]; workers: Worker[]; queues: string[] } = { adapters: [], workers: [], queues: [] };

function setup(options: Partial<ConstructorParameters<typeof RabbitMQAdapter>[0]> = {}) {
  const id = `tpr${randomBytes(4).toString("hex")}`;
  const adapter = new RabbitMQAdapter({ url: AMQP_URL, connectionName: `tp-${id}`, ...options });
  opened.adapters.push(adapter);
  const queue = `${id}-main`;
  opened.queues.push(queue);
  return { id, adapter, queue, backend: new Backend(id, adapter) };
}

async function worker(...args: Parameters<typeof startWorker>): Promise<Worker> {
  const started = await startWorker(...args);
  opened.workers.push(started);
  return started;
}

/** Registered from conformance.test.ts, so they never run beside its broker restart. */
describe("rabbitmq adapter", () => {
  afterEach(async () => {
    await Promise.allSettled(opened.workers.splice(0).map((w) => w.close({ graceMs: 0 })));
    await Promise.allSettled(opened.adapters.splice(0).map((a) => a.close()));
    await deleteQueues(opened.queues.splice(0));
  });

  function until(check: () => boolean, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    return new Promise((resolve, reject) => {
      const tick = () => {
        if (check()) resolve();
        else if (Date.now() > deadline) reject(new Error("timed out"));
        else setTimeout(tick, 10);
      };
      tick();
    });
  }

  /** The `n` of every message in `queue`, read without taking them (the channel closes unacknowledged). */
  async function queueNumbers(queue: string): Promise<number[]> {
    const model = await connect(AMQP_URL);
    try {
      const channel = await model.createChannel();
      const { messageCount } = await channel.checkQueue(queue);
      const numbers: number[] = [];
      await channel.prefetch(0);
      await new Promise<void>((resolve) => {
        if (messageCount === 0) resolve();
        void channel.consume(queue, (message) => {
          if (message) numbers.push((JSON.parse(message.content.toString()) as { n: number }).n);
          if (numbers.length === messageCount) resolve();
        });
      });
      return numbers;
    } finally {
      await closeModel(model);
    }
  }

  describe("check()", () => {
    it("explains bad credentials without showing the password", async () => {
      const adapter = new RabbitMQAdapter({ url: "amqp://guest:not-the-password@127.0.0.1:5672" });
      const problems = await adapter.check();
      await adapter.close();
      expect(problems).toHaveLength(1);
      expect(problems[0]?.message).toMatch(/^\[taskport\] \[rabbitmq\] .*refused the login/);
      expect(problems[0]?.message).not.toContain("not-the-password");
    });

    it("explains a missing virtual host", async () => {
      const adapter = new RabbitMQAdapter({ url: "amqp://guest:guest@127.0.0.1:5672/no-such-vhost" });
      const problems = await adapter.check();
      await adapter.close();
      expect(problems[0]?.message).toMatch(/no such virtual host/);
    });

    it("reports a queue that exists with conflicting arguments, and the adapter keeps working", async () => {
      const { adapter, queue, backend } = setup({ queues: [] });
      const other = setup();
      // Declared elsewhere as a quorum queue; this adapter wants a classic queue with priorities.
      const model = await connect(AMQP_URL);
      const channel = await model.createChannel();
      await channel.assertQueue(other.queue, { durable: true, arguments: { "x-queue-type": "quorum" } });
      await closeModel(model);
      const checker = new RabbitMQAdapter({ url: AMQP_URL, queues: [other.queue, queue] });
      opened.adapters.push(checker);
      const problems = await checker.check();
      expect(problems).toHaveLength(1);
      expect(problems[0]?.message).toContain(`queue "${other.queue}" already exists with other arguments`);
      // The conflict closed only a throwaway channel: the same adapter still enqueues elsewhere.
      const job = defineTask("job", async () => {}, { queue }).using({ backend });
      await expect(job.enqueue(undefined)).resolves.toBeDefined();
      await expect(checker.enqueue([{ ...sample(other.queue) }])).rejects.toThrow(/already exists with other arguments/);
      expect(await adapter.check()).toEqual([]);
    });
  });

  function sample(queue: string) {
    return {
      id: randomBytes(8).toString("hex"),
      name: "job",
      queue,
      payload: null,
      payloadJson: "null",
      priority: 0,
      maxAttempts: 1,
      enqueuedAt: Date.now(),
    };
  }

  describe("delays", () => {
    it("a 100 ms delay enqueued after a 10 s one runs first, and neither early", async () => {
      const { queue, backend } = setup();
      const order: { tag: string; at: number }[] = [];
      const job = defineTask("later", async (p: { tag: string }) => void order.push({ tag: p.tag, at: Date.now() }), { queue }).using({
        backend,
      });
      await worker({ tasks: [job], backend });
      const start = Date.now();
      await job.enqueue({ tag: "long" }, { delayMs: 10_000 });
      await job.enqueue({ tag: "short" }, { delayMs: 100 });
      await until(() => order.length === 2, 20_000);
      expect(order.map((o) => o.tag)).toEqual(["short", "long"]);
      expect(order[0]!.at - start).toBeGreaterThanOrEqual(100);
      expect(order[0]!.at - start).toBeLessThan(2_000);
      expect(order[1]!.at - start).toBeGreaterThanOrEqual(10_000);
    }, 30_000);
  });

  describe("bad input", () => {
    it("a non-JSON payload raises SerializationError and publishes nothing", async () => {
      const { queue, backend } = setup();
      const job = defineTask("job", async () => {}, { queue }).using({ backend });
      await job.enqueue(undefined); // declares the queue
      await expect(job.enqueue({ at: new Date() } as never)).rejects.toBeInstanceOf(SerializationError);
      const model = await connect(AMQP_URL);
      const channel = await model.createChannel();
      const { messageCount } = await channel.checkQueue(queue);
      await closeModel(model);
      expect(messageCount).toBe(1);
    });

    it("a payload over the declared limit raises PayloadTooLargeError", async () => {
      const { queue, backend } = setup({ maxPayloadBytes: 1000 });
      const job = defineTask("job", async (_: { text: string }) => {}, { queue }).using({ backend });
      await expect(job.enqueue({ text: "x".repeat(2000) })).rejects.toBeInstanceOf(PayloadTooLargeError);
    });

    it("wrong credentials: enqueue fails with a ConnectionError that hides the password", async () => {
      const adapter = new RabbitMQAdapter({ url: "amqp://guest:wrong-secret@127.0.0.1:5672" });
      opened.adapters.push(adapter);
      const job = defineTask("job", async () => {}, { queue: "never-created" }).using({ backend: new Backend("bad", adapter) });
      const error = await job.enqueue(undefined).catch((e: unknown) => e as Error);
      expect(error).toBeInstanceOf(ConnectionError);
      expect((error as Error).message).not.toContain("wrong-secret");
    });

    it("a message from another producer whose body is not JSON goes to the dead letters with its reason", async () => {
      const { adapter, queue, backend } = setup();
      const job = defineTask("job", async () => {}, { queue }).using({ backend });
      const errors: Error[] = [];
      const w = await worker({ tasks: [job], backend });
      w.on("error", (e) => errors.push(e.error));
      const model = await connect(AMQP_URL);
      const channel = await model.createConfirmChannel();
      channel.sendToQueue(queue, Buffer.from("not json"), { messageId: "foreign-1", type: "job", persistent: true });
      await channel.waitForConfirms();
      await closeModel(model);
      let letters: Awaited<ReturnType<RabbitMQAdapter["listDeadLetters"]>> = [];
      await until(() => errors.length > 0, 10_000);
      expect(errors[0]).toBeInstanceOf(SerializationError);
      for (let i = 0; i < 50 && letters.length === 0; i++) {
        letters = await adapter.listDeadLetters(queue, 10);
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(letters[0]).toMatchObject({ id: "foreign-1", status: "failed", payload: "not json" });
      expect(letters[0]?.error?.message).toMatch(/not JSON/);
      // Peeking loses nothing.
      expect(await adapter.listDeadLetters(queue, 10)).toHaveLength(1);
    });
  });

  describe("interop", () => {
    it("a job is a plain AMQP message: JSON body, messageId, type, timestamp, headers only where not the default, persistent", async () => {
      const { adapter, queue } = setup();
      const enqueuedAt = Date.UTC(2026, 0, 2, 3, 4, 5, 678);
      await adapter.enqueue([
        { ...sample(queue), payload: { a: 1 }, payloadJson: '{"a":1}', maxAttempts: 3, priority: 100, enqueuedAt },
        { ...sample(queue), enqueuedAt },
      ]);
      const model = await connect(AMQP_URL);
      const channel = await model.createChannel();
      const retried = await channel.get(queue, { noAck: true });
      const plain = await channel.get(queue, { noAck: true });
      await closeModel(model);
      expect(retried).not.toBe(false);
      expect(plain).not.toBe(false);
      if (retried === false || plain === false) return;
      expect(JSON.parse(retried.content.toString())).toEqual({ a: 1 });
      expect(retried.properties).toMatchObject({
        type: "job",
        contentType: "application/json",
        deliveryMode: 2,
        priority: 10,
        timestamp: Math.floor(enqueuedAt / 1000),
      });
      // Attempt 1 is what a message without the header means, so the first publish leaves it out.
      expect(retried.properties.headers).toEqual({ [HEADER.maxAttempts]: 3 });
      expect(readMessage(retried)).toMatchObject({ attempt: 1, maxAttempts: 3, enqueuedAt: Math.floor(enqueuedAt / 1000) * 1000 });
      // One attempt, due now: nothing to say in headers, so the message carries no header table.
      expect(plain.properties.headers ?? {}).toEqual({});
      expect(readMessage(plain)).toMatchObject({ attempt: 1, maxAttempts: 1, otherHeaders: {} });
    });

    it("reads the enqueue time in ms from the header of messages published by earlier versions", () => {
      const message = readMessage({
        content: Buffer.from("null"),
        properties: { headers: { [HEADER.enqueuedAt]: 1_767_323_045_678 }, timestamp: 1_767_323_045 },
      } as unknown as Parameters<typeof readMessage>[0]);
      expect(message.enqueuedAt).toBe(1_767_323_045_678);
    });

    it("keeps another producer's headers across retries, but not the broker's own bookkeeping", () => {
      const message = readMessage({
        content: Buffer.from("null"),
        properties: {
          headers: { "tenant-id": "t1", "x-delivery-count": 2, "x-death": [], "x-first-death-reason": "delivery_limit" },
        },
      } as unknown as Parameters<typeof readMessage>[0]);
      expect(message.otherHeaders).toEqual({ "tenant-id": "t1" });
    });
  });

  describe("priority levels", () => {
    it("maxPriority from the URL sets both the queue's x-max-priority and the messages' range", async () => {
      const { adapter, queue } = setup({ url: `${AMQP_URL}?maxPriority=5` });
      await adapter.enqueue([
        { ...sample(queue), priority: 100 },
        { ...sample(queue), priority: -100 },
      ]);
      const model = await connect(AMQP_URL);
      const channel = await model.createChannel();
      const first = await channel.get(queue, { noAck: true });
      const second = await channel.get(queue, { noAck: true });
      await closeModel(model);
      expect(first).toMatchObject({ properties: { priority: 5 } });
      expect(second).toMatchObject({ properties: { priority: 0 } });
    });
  });

  describe("at-least-once", () => {
    it("a connection that dies mid-job has its job delivered again, and the worker resumes by itself", async () => {
      const { id, queue, backend } = setup();
      const runs: number[] = [];
      let release: () => void = () => {};
      const held = new Promise<void>((resolve) => {
        release = resolve;
      });
      const job = defineTask(
        "job",
        async (p: { n: number }) => {
          runs.push(p.n);
          if (runs.length === 1) await held;
        },
        { queue },
      ).using({ backend });
      const w = await worker({ tasks: [job], backend });
      const errors: Error[] = [];
      w.on("error", (e) => errors.push(e.error));
      await job.enqueue({ n: 1 });
      await until(() => runs.length === 1, 10_000);
      expect(await closeConnectionsNamed(`tp-${id}`)).toBe(1);
      await until(() => runs.length === 2, 20_000);
      release();
      expect(runs).toEqual([1, 1]);
      expect(errors.length).toBeGreaterThan(0);
      // The producer reconnects too.
      await job.enqueue({ n: 2 });
      await until(() => runs.length === 3, 10_000);
      await new Promise((r) => setTimeout(r, 300));
      expect(runs).toEqual([1, 1, 2]);
    }, 60_000);

    it("a batch cut off mid-publish is finished after reconnecting, and messages already confirmed are not sent again", async () => {
      // The relay passes the first 300 kB of the batch, drops the rest, lets every confirm for what
      // passed come back, then cuts the connection: the broker holds some of the batch, all confirmed.
      const relay = await amqpRelay();
      relay.blackHole({ direction: "toServer", afterBytes: 300_000 });
      try {
        const { queue, backend } = setup({ url: relay.urlOf(AMQP_URL) });
        const job = defineTask("job", async (_: { n: number; pad: string }) => {}, { queue }).using({ backend });
        const count = 5_000;
        const sending = job.enqueueMany(Array.from({ length: count }, (_, n) => ({ n, pad: "x".repeat(100) })));
        await relay.held();
        await relay.serverQuietFor(300);
        const before = await queueNumbers(queue);
        expect(before.length).toBeGreaterThan(0);
        expect(before.length).toBeLessThan(count);
        relay.pass(); // the reconnection passes in full
        relay.cut();
        await sending;
        const after = await queueNumbers(queue);
        expect(after).toHaveLength(count);
        expect(new Set(after).size).toBe(count);
      } finally {
        await relay.close();
      }
    }, 60_000);

    it("close() returns when the connection dies during it", async () => {
      const relay = await amqpRelay();
      try {
        const { adapter } = setup({ url: relay.urlOf(AMQP_URL) });
        expect(await adapter.check()).toEqual([]);
        // Cut in the same turn as close(): the socket dies while amqplib awaits the broker's close-ok.
        relay.cut();
        await adapter.close();
      } finally {
        await relay.close();
      }
    });

    it("a worker's close and a consumer's abandon return when the connection dies during them", async () => {
      const relay = await amqpRelay();
      try {
        const { queue, backend } = setup({ url: relay.urlOf(AMQP_URL) });
        const job = defineTask("job", async () => {}, { queue }).using({ backend });
        const closing = await worker({ tasks: [job], backend });
        const abandoning = await worker({ tasks: [job], backend });
        closing.on("error", () => {});
        abandoning.on("error", () => {});
        // Cut in the same turn: each channel dies while amqplib awaits the broker's close-ok.
        relay.cut();
        await Promise.all([abandoning.consumer?.abandon(), closing.close({ graceMs: 1_000 })]);
      } finally {
        await relay.close();
      }
    });

    it("graceful stop returns received-but-not-started jobs to the queue at once", async () => {
      const { queue, backend } = setup({ prefetch: 5 });
      const started: number[] = [];
      const job = defineTask(
        "job",
        async (p: { n: number }) => {
          started.push(p.n);
          await new Promise((r) => setTimeout(r, 300));
        },
        { queue },
      ).using({ backend });
      await job.enqueueMany([1, 2, 3, 4, 5].map((n) => ({ n })));
      const w = await worker({ tasks: [job], backend, concurrency: 1 });
      await until(() => started.length === 1, 10_000);
      await w.close({ graceMs: 5_000 });
      expect(started).toHaveLength(1);
      const model = await connect(AMQP_URL);
      const channel = await model.createChannel();
      const { messageCount } = await channel.checkQueue(queue);
      await closeModel(model);
      expect(messageCount).toBe(4);
    });

    it("jobs settling out of order are each acknowledged once, all of them before close() returns", async () => {
      const { queue, backend } = setup();
      const runs = new Map<number, number>();
      const job = defineTask(
        "job",
        async (p: { n: number }) => {
          runs.set(p.n, (runs.get(p.n) ?? 0) + 1);
          // Later deliveries often finish first, so not every ack can cover the ones before it.
          await new Promise((r) => setTimeout(r, (p.n * 7) % 13));
          // A dead-letter publish comes before these acks.
          if (p.n % 10 === 0) throw new Error("fails for good");
        },
        { queue },
      ).using({ backend });
      await job.enqueueMany(Array.from({ length: 300 }, (_, n) => ({ n })));
      const w = await worker({ tasks: [job], backend, concurrency: 20 });
      const errors: Error[] = [];
      w.on("error", (e) => errors.push(e.error));
      await until(() => runs.size === 300, 20_000);
      await w.close({ graceMs: 10_000 });
      const model = await connect(AMQP_URL);
      const channel = await model.createChannel();
      const work = await channel.checkQueue(queue);
      const dead = await channel.checkQueue(`${queue}.dead`);
      await closeModel(model);
      // An unacknowledged message would be back in the queue once the worker's channel closed.
      expect(work.messageCount).toBe(0);
      expect(dead.messageCount).toBe(30);
      // An ack of an unknown or acknowledged delivery tag closes the channel: an error event, and redeliveries.
      expect(errors).toEqual([]);
      expect([...runs.values()].filter((count) => count !== 1)).toEqual([]);
    });
  });

  describe("quorum queues", () => {
    it("run delayed and retried jobs; priority is refused rather than ignored", async () => {
      const { queue, backend, adapter } = setup({ queueType: "quorum" });
      expect(adapter.capabilities.priority).toBe(false);
      const attempts: number[] = [];
      const job = defineTask(
        "flaky",
        async (_: unknown, ctx) => {
          attempts.push(ctx.attempt);
          if (ctx.attempt === 1) throw new Error("once");
        },
        { queue, retry: { maxAttempts: 2, delayMs: 50, jitter: 0 } },
      ).using({ backend });
      await expect(job.enqueue(undefined, { priority: 10 })).rejects.toBeInstanceOf(UnsupportedFeatureError);
      await worker({ tasks: [job], backend });
      const start = Date.now();
      await job.enqueue(undefined, { delayMs: 200 });
      await until(() => attempts.length === 2, 10_000);
      expect(attempts).toEqual([1, 2]);
      expect(Date.now() - start).toBeGreaterThanOrEqual(250);
      const model = await connect(AMQP_URL);
      const channel = await model.createChannel();
      // Declared as taskport declares it: a redeclaration with quorum arguments succeeds.
      await channel.assertQueue(queue, { durable: true, arguments: { "x-queue-type": "quorum" } });
      await closeModel(model);
    });

    it("a crash counts as an attempt: the redelivery reports attempt 2, and a job whose extra start dies too fails for good as WorkerLostError", async () => {
      const { queue, backend, adapter } = setup({ queueType: "quorum" });
      expect(adapter.capabilities.crashCountsAsAttempt).toBe(true);
      const attempts: number[] = [];
      const job = defineTask(
        "doomed",
        async (_: { n: number }, ctx) => {
          attempts.push(ctx.attempt);
          await new Promise(() => {}); // never settles: only a crash ends it
        },
        { queue },
      ).using({ backend });
      const handle = await job.enqueue({ n: 1 });
      // Each worker has a channel of its own: abandoning it returns the job unsettled, as a crash would.
      for (const expected of [1, 2]) {
        const doomed = await worker({ tasks: [job], backend });
        await until(() => attempts.length === expected, 20_000);
        await doomed.consumer?.abandon();
      }
      expect(attempts).toEqual([1, 2]);
      const last = await worker({ tasks: [job], backend });
      const failed: { attempt: number; name: string }[] = [];
      last.on("failed", (e) => failed.push({ attempt: e.attempt, name: e.error.name }));
      await until(() => failed.length === 1, 20_000);
      expect(failed).toEqual([{ attempt: 2, name: "WorkerLostError" }]);
      expect(attempts).toEqual([1, 2]);
      const letters = await adapter.listDeadLetters(queue, 10);
      expect(letters).toMatchObject([{ id: handle.id, error: { name: "WorkerLostError" } }]);
    }, 90_000);

    it("graceful stop hands received-but-not-started jobs back without using an attempt", async () => {
      const { queue, backend } = setup({ queueType: "quorum", prefetch: 5 });
      const attempts: number[] = [];
      const job = defineTask(
        "job",
        async (_: { n: number }, ctx) => {
          attempts.push(ctx.attempt);
          await new Promise((r) => setTimeout(r, 300));
        },
        { queue },
      ).using({ backend });
      await job.enqueueMany([1, 2, 3, 4, 5].map((n) => ({ n })));
      const first = await worker({ tasks: [job], backend, concurrency: 1 });
      await until(() => attempts.length === 1, 10_000);
      await first.close({ graceMs: 5_000 });
      expect(attempts).toHaveLength(1);
      await worker({ tasks: [job], backend, concurrency: 5 });
      await until(() => attempts.length === 5, 10_000);
      expect(attempts).toEqual([1, 1, 1, 1, 1]);
    });

    it("with deliveryLimit, a job whose worker dies every time goes to the dead letters instead of round again", async () => {
      const { id, queue, backend, adapter } = setup({ queueType: "quorum", deliveryLimit: 1 });
      const runs: number[] = [];
      const job = defineTask(
        "poison",
        async (p: { n: number }) => {
          runs.push(p.n);
          await new Promise(() => {}); // never settles: only a crash ends it
        },
        { queue },
      ).using({ backend });
      const w = await worker({ tasks: [job], backend });
      w.on("error", () => {});
      const handle = await job.enqueue({ n: 1 });
      // Delivered, its connection killed (returned unsettled once), delivered again, killed again:
      // one return more than the limit of 1, so the broker dead-letters it.
      for (const expected of [1, 2]) {
        await until(() => runs.length === expected, 20_000);
        expect(await closeConnectionsNamed(`tp-${id}`)).toBe(1);
      }
      const deadline = Date.now() + 20_000;
      let letters = await adapter.listDeadLetters(queue, 10);
      while (letters.length === 0 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100));
        letters = await adapter.listDeadLetters(queue, 10);
      }
      expect(letters).toMatchObject([{ id: handle.id, status: "failed", payload: { n: 1 }, error: { name: "DeliveryLimitError" } }]);
      await new Promise((r) => setTimeout(r, 500));
      expect(runs).toEqual([1, 1]);
    }, 90_000);
  });

  describe("a queue deleted under a worker", () => {
    it("the server cancels the consumer; the worker declares the queue again and resumes", async () => {
      const { queue, backend } = setup();
      const seen: number[] = [];
      const job = defineTask("job", async (p: { n: number }) => void seen.push(p.n), { queue }).using({ backend });
      const w = await worker({ tasks: [job], backend });
      const errors: Error[] = [];
      w.on("error", (e) => errors.push(e.error));
      await job.enqueue({ n: 1 });
      await until(() => seen.length === 1, 10_000);
      const model = await connect(AMQP_URL);
      const channel = await model.createChannel();
      await channel.deleteQueue(queue);
      await closeModel(model);
      await until(() => errors.length > 0, 10_000);
      // Give the worker time to redeclare the queue and consume again; without that, the job below
      // would sit in a queue nobody consumes.
      await new Promise((r) => setTimeout(r, 500));
      await job.enqueue({ n: 2 });
      await until(() => seen.length === 2, 10_000);
      expect(seen).toEqual([1, 2]);
    });
  });

  describe("broker restart", () => {
    it("enqueues made while the broker is down wait for it, and every job runs", async () => {
      const { queue, backend } = setup();
      const seen = new Set<number>();
      const job = defineTask("job", async (p: { i: number }) => void seen.add(p.i), { queue }).using({ backend });
      const w = await worker({ tasks: [job], backend, concurrency: 10 });
      w.on("error", () => {}); // reported, not fatal
      await job.enqueue({ i: 0 });
      await until(() => seen.size === 1, 10_000);
      let restarted = false;
      const restarting = restartRabbit().finally(() => {
        restarted = true;
      });
      let i = 1;
      let slowest = 0;
      // Enqueue one at a time across the restart, until it is over (rabbitmqctl alone may take
      // seconds to start on a loaded machine): each resolves only once the broker confirmed it.
      const producing = (async () => {
        const end = Date.now() + 3_000;
        while (!restarted || Date.now() < end) {
          const sent = Date.now();
          await job.enqueue({ i: i++ });
          slowest = Math.max(slowest, Date.now() - sent);
        }
      })();
      await Promise.all([restarting, producing]);
      await job.enqueue({ i: i++ });
      await until(() => seen.size === i, 60_000);
      expect(seen.size).toBe(i);
      // Some enqueue did meet the outage and waited it out, rather than the restart missing the loop.
      expect(slowest).toBeGreaterThan(200);
    }, 120_000);
  });
});
