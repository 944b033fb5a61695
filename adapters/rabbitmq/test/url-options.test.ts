import { ConfigurationError } from "@taskport/core";
import { describe, expect, it } from "vitest";
import { bucketExpiresMs, chooseBucket, DEFAULT_MAX_BUCKET_MS, redeclareAfterMs } from "../src/delay-buckets.ts";
import { createAdapter, parseUrlOptions, RabbitMQAdapter } from "../src/index.ts";

describe("amqp:// URLs", () => {
  it("reads taskport's options and passes amqplib's through", () => {
    const options = parseUrlOptions(
      new URL("amqp://u:p@h:5673/my%2Fvhost?heartbeat=30&prefetch=20&queueType=quorum&maxPriority=5&frameMax=8192&deliveryLimit=4"),
    );
    expect(options).toEqual({
      connectUrl: "amqp://u:p@h:5673/my%2Fvhost?heartbeat=30&frameMax=8192",
      prefetch: 20,
      queueType: "quorum",
      maxPriority: 5,
      deliveryLimit: 4,
    });
  });

  it("refuses unknown parameters, bad values and other schemes with a ConfigurationError", () => {
    expect(() => parseUrlOptions(new URL("amqp://h?prefech=2"))).toThrow(/unknown URL parameter "prefech"/);
    expect(() => parseUrlOptions(new URL("amqp://h?prefetch=0"))).toThrow(ConfigurationError);
    expect(() => parseUrlOptions(new URL("amqp://h?queueType=stream"))).toThrow(/queueType=classic/);
    expect(() => parseUrlOptions(new URL("amqp://h?heartbeat=x"))).toThrow(/heartbeat/);
    expect(() => parseUrlOptions(new URL("redis://h"))).toThrow(/amqp:\/\//);
  });

  it("a quorum queue type declares priority unsupported; classic declares it", async () => {
    expect((await createAdapter(new URL("amqp://127.0.0.1?queueType=quorum"))).capabilities.priority).toBe(false);
    expect((await createAdapter(new URL("amqps://127.0.0.1"))).capabilities.priority).toBe(true);
    expect(new RabbitMQAdapter({ url: "amqp://127.0.0.1", maxPriority: 0 }).capabilities.priority).toBe(false);
  });

  it("adapter options are checked, and a password never appears in the error", () => {
    expect(() => new RabbitMQAdapter({})).toThrow(/exactly one of `url` or `connection`/);
    expect(() => new RabbitMQAdapter({ url: "amqp://127.0.0.1", maxPriority: 300 })).toThrow(/maxPriority/);
    expect(() => new RabbitMQAdapter({ url: "amqp://127.0.0.1", maxDelayBucketMs: 0 })).toThrow(/maxDelayBucketMs/);
    // Classic queues do not count deliveries: a limit there would be silently ignored by the broker.
    expect(() => new RabbitMQAdapter({ url: "amqp://127.0.0.1", deliveryLimit: 3 })).toThrow(/deliveryLimit needs queueType=quorum/);
    expect(() => new RabbitMQAdapter({ url: "amqp://127.0.0.1?queueType=quorum", deliveryLimit: 0 })).toThrow(/deliveryLimit must be/);
    expect(() => new RabbitMQAdapter({ url: "amqp://127.0.0.1?queueType=quorum&deliveryLimit=0" })).toThrow(ConfigurationError);
    const error = (() => {
      try {
        new RabbitMQAdapter({ url: "amqp://u:hunter2@h?nope=1" });
      } catch (e) {
        return e as Error;
      }
    })();
    expect(error).toBeInstanceOf(ConfigurationError);
    expect(error?.message).not.toContain("hunter2");
  });
});

describe("delay buckets", () => {
  it("picks the largest power-of-two bucket not longer than the remaining delay", () => {
    expect(chooseBucket(1, DEFAULT_MAX_BUCKET_MS)).toBe(1);
    expect(chooseBucket(100, DEFAULT_MAX_BUCKET_MS)).toBe(64);
    expect(chooseBucket(10_000, DEFAULT_MAX_BUCKET_MS)).toBe(8192);
    expect(chooseBucket(1024, DEFAULT_MAX_BUCKET_MS)).toBe(1024);
  });

  it("a delay of months hops through the largest bucket; a configured limit is itself a bucket", () => {
    const sixMonths = 183 * 24 * 3600 * 1000;
    expect(chooseBucket(sixMonths, DEFAULT_MAX_BUCKET_MS)).toBe(DEFAULT_MAX_BUCKET_MS);
    expect(chooseBucket(3_500, 1_000)).toBe(1_000);
    expect(chooseBucket(999, 1_000)).toBe(512);
  });

  it("a bucket outlives every message put in it", () => {
    // Latest expiry of a message published just before a redeclaration, against the queue's own.
    for (const ttl of [1, 1000, DEFAULT_MAX_BUCKET_MS]) expect(redeclareAfterMs(ttl) + ttl).toBeLessThan(bucketExpiresMs(ttl));
    // RabbitMQ rejects x-expires above 2^32 - 1 ms.
    expect(bucketExpiresMs(DEFAULT_MAX_BUCKET_MS)).toBeLessThan(2 ** 32);
  });
});
