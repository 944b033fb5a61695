import { AckPolicy, jetstreamManager, RetentionPolicy } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import type { Consumer } from "@taskport/core";
import { afterEach, expect, test } from "vitest";
import { NatsAdapter, queueNames } from "../src/index.ts";
import { deleteStreams, NATS_ENGINE, NATS_URL } from "./support.ts";

const DELAYED_ACK_WAIT_MS = 1_000;

const opened: { adapter?: NatsAdapter; consumer?: Consumer; queue?: string } = {};
afterEach(async () => {
  await opened.consumer?.abandon();
  await opened.adapter?.close();
  if (opened.queue) await deleteStreams([opened.queue]);
});

// A restarted server redelivers the jobs its `delayed` consumer holds nakked one ack wait after it
// starts: that ack wait is how late a due job can be after a restart, so it is short.
test("a delayed consumer an earlier version declared with a 30 s ack wait gets the short one once a worker starts", async () => {
  const queue = `delayed-old-${process.pid}-${Date.now()}`;
  opened.queue = queue;
  const names = queueNames(queue);
  const nc = await connect({ servers: `${NATS_ENGINE().host}:${NATS_ENGINE().port}` });
  try {
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: names.stream, subjects: [names.jobSubject, names.delayedSubject], retention: RetentionPolicy.Workqueue });
    await jsm.consumers.add(names.stream, {
      durable_name: "delayed",
      filter_subject: names.delayedSubject,
      ack_policy: AckPolicy.Explicit,
      ack_wait: 30_000 * 1_000_000,
    });
    opened.adapter = new NatsAdapter({ url: NATS_URL, pullExpiresMs: 1_000 });
    opened.consumer = await opened.adapter.consume({ queues: [queue], concurrency: 1 }, async () => ({
      status: "succeeded",
      result: null,
      resultJson: "null",
    }));
    const info = await jsm.consumers.info(names.stream, "delayed");
    expect(info.config.ack_wait).toBe(DELAYED_ACK_WAIT_MS * 1_000_000);
  } finally {
    await nc.close();
  }
});
