import { Backend, defineTask, startWorker, type Worker } from "@taskport/core";
import { afterEach, expect, test } from "vitest";
import { NatsAdapter } from "../src/index.ts";
import { deleteStreams, NATS_URL } from "./support.ts";

const opened: { worker?: Worker; adapter?: NatsAdapter; queue?: string } = {};
afterEach(async () => {
  await opened.worker?.close({ graceMs: 0 });
  await opened.adapter?.close();
  if (opened.queue) await deleteStreams([opened.queue]);
});

test("a job JetStream stops delivering at max_deliver is moved to the dead letters, out of the work stream", async () => {
  const queue = `maxdeliver-${process.pid}-${Date.now()}`;
  opened.queue = queue;
  const adapter = new NatsAdapter({ url: NATS_URL, maxDeliver: 2, ackWaitMs: 1_000, pullExpiresMs: 1_000 });
  opened.adapter = adapter;
  const backend = new Backend("max-deliveries", adapter);
  const runs: number[] = [];
  // Five attempts allowed by the task, two deliveries by the consumer: the consumer's limit wins.
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
  const deadline = Date.now() + 15_000;
  let letters = await adapter.listDeadLetters(queue, 10);
  while (letters.length === 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    letters = await adapter.listDeadLetters(queue, 10);
  }
  expect(letters.map((l) => [l.id, l.payload, l.error?.name])).toEqual([[handle.id, { keep: "me" }, "MaxDeliveriesError"]]);
  expect(runs).toEqual([1, 2]);
});
