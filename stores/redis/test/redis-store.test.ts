import { randomUUID } from "node:crypto";
import { inspect } from "node:util";
import { ConnectionError, DeadlineError, type JobChange, type NewJob } from "@taskport/core";
import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { RedisStore } from "../src/index.ts";
import { LuaScript } from "../src/lua-script.ts";
import { RECORD } from "../src/scripts.ts";
import { deletePrefix, keysOf, killClients, REDIS_URL, redisRelay, testStore, withRedis } from "./support.ts";

const prefixes: string[] = [];
const opened: RedisStore[] = [];

/** A store on a prefix of its own, closed and cleaned up after the file. */
function freshStore(options: { prefix?: string; commandTimeoutMs?: number } = {}): RedisStore {
  const prefix = options.prefix ?? `tprs${randomUUID().replaceAll("-", "").slice(0, 10)}`;
  prefixes.push(prefix);
  const store = testStore(prefix, options.commandTimeoutMs ? { commandTimeoutMs: options.commandTimeoutMs } : {});
  opened.push(store);
  return store;
}

afterAll(async () => {
  await Promise.allSettled(opened.map((store) => store.close()));
  await Promise.allSettled(prefixes.map(deletePrefix));
});

function job(overrides: Partial<NewJob> = {}): NewJob {
  return {
    id: randomUUID(),
    name: "task",
    queue: "q",
    payload: null,
    payloadJson: "null",
    priority: 0,
    maxAttempts: 1,
    enqueuedAt: Date.now(),
    ...overrides,
  };
}

const start = (j: NewJob, attempt = 1) => ({ id: j.id, name: j.name, queue: j.queue, attempt, maxAttempts: j.maxAttempts });

describe("redis-store: keys and retention", () => {
  it("writes one hash per job and one key per held deduplication key, under its prefix only", async () => {
    const store = freshStore();
    const j = job({ deduplicationKey: "a:b c", payloadJson: '{"x":1}' });
    const recordedAt = Date.now();
    await store.record([j], 60_000);
    expect((await keysOf(store.keys.prefix)).sort()).toEqual(
      [
        store.keys.job(j.id),
        `${store.keys.prefix}:dedup:q:a:b c`,
        store.keys.pending,
        store.keys.seq,
        store.keys.queues,
        store.keys.queue("q", "all"),
        store.keys.queue("q", "queued"),
      ].sort(),
    );
    const claim = await withRedis((client) => client.zscore(store.keys.pending, j.id));
    expect(Number(claim)).toBeGreaterThanOrEqual(recordedAt + 60_000);
    await store.confirm([j.id]);
    const fields = await withRedis((client) => client.hgetall(store.keys.job(j.id)));
    expect(fields).toMatchObject({ name: "task", queue: "q", payload: '{"x":1}', status: "queued", maxAttempts: "1", dedupKey: "a:b c" });
    expect(await keysOf(store.keys.prefix)).not.toContain(store.keys.pending);
    expect(await store.get(j.id)).toMatchObject({ status: "queued", attempt: 0 });
  });

  it("a finished job's record expires by itself after its retention; the key is released at once", async () => {
    const store = freshStore();
    const [ok, bad] = [job({ deduplicationKey: "k" }), job()];
    await store.record([ok, bad], 60_000);
    await store.begin([start(ok), start(bad)]);
    await store.settle(
      [
        { id: ok.id, status: "succeeded", resultJson: "1" },
        { id: bad.id, status: "failed", error: { name: "Error", message: "x" } },
      ],
      { succeededMs: 300, failedMs: 60_000 },
    );
    const [okTtl, badTtl] = await withRedis((client) =>
      Promise.all([client.pttl(store.keys.job(ok.id)), client.pttl(store.keys.job(bad.id))]),
    );
    expect(okTtl).toBeGreaterThan(0);
    expect(okTtl).toBeLessThanOrEqual(300);
    expect(badTtl).toBeGreaterThan(59_000);
    expect(await keysOf(`${store.keys.prefix}:dedup`)).toEqual([]);
    // With the retention known at settle, nothing waits for a sweep: no index of finished jobs.
    expect(await keysOf(`${store.keys.prefix}:finished`)).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(await store.get(ok.id)).toBeNull();
    expect(await store.get(bad.id)).toMatchObject({ status: "failed" });
  });

  it("a cancel before start starts the failed retention", async () => {
    const store = freshStore();
    const j = job();
    await store.record([j], 60_000);
    expect(await store.cancel(j.id, { succeededMs: 1_000, failedMs: 5_000 })).toBe("cancelled");
    const ttl = await withRedis((client) => client.pttl(store.keys.job(j.id)));
    expect(ttl).toBeGreaterThan(4_000);
    expect(ttl).toBeLessThanOrEqual(5_000);
  });

  it("sweep() counts and deletes dead claims with their keys, and empties its indexes", async () => {
    const store = freshStore();
    const dead = [job({ deduplicationKey: "d1" }), job({ deduplicationKey: "d2" }), job()];
    await store.record(dead, 50);
    const finished = job();
    await store.record([finished], 60_000);
    await store.begin([start(finished)]);
    await store.settle([{ id: finished.id, status: "succeeded", resultJson: "null" }]);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await store.sweep({ succeededMs: 10, failedMs: 10 })).toBe(4);
    // What stays: the record counter and the names of queues, both one key.
    expect((await keysOf(store.keys.prefix)).sort()).toEqual([store.keys.queues, store.keys.seq]);
    expect(await store.sweep({ succeededMs: 10, failedMs: 10 })).toBe(0);
  });

  it("sweeps more than one script call's worth", async () => {
    const store = freshStore();
    const many = Array.from({ length: 1_200 }, () => job());
    await store.record(many, 1);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await store.sweep({ succeededMs: 10, failedMs: 10 })).toBe(1_200);
    expect((await keysOf(store.keys.prefix)).sort()).toEqual([store.keys.queues, store.keys.seq]);
  });

  it("a finished job whose record expired by its TTL leaves stats, listings and the queue's indexes", async () => {
    const store = freshStore();
    const [gone, kept] = [job(), job()];
    await store.record([gone, kept], 60_000);
    await store.confirm([gone.id, kept.id]);
    await store.begin([start(gone), start(kept)]);
    await store.settle([{ id: gone.id, status: "succeeded", resultJson: "1" }], { succeededMs: 100, failedMs: 60_000 });
    await store.settle([{ id: kept.id, status: "failed", error: { name: "Error", message: "x" } }], { succeededMs: 100, failedMs: 60_000 });
    expect((await store.stats(["q"]))[0]?.counts).toMatchObject({ succeeded: 1, failed: 1, running: 0 });
    await new Promise((resolve) => setTimeout(resolve, 250));
    expect((await store.listJobs("q", { limit: 10 })).jobs.map((j) => j.id)).toEqual([kept.id]);
    expect((await store.stats(["q"]))[0]?.counts).toMatchObject({ succeeded: 0, failed: 1 });
    const entries = await withRedis((client) =>
      Promise.all(["all", "succeeded", "expiry"].map((part) => client.zrange(store.keys.queue("q", part), "0", "-1"))),
    );
    expect(entries).toEqual([[kept.id], [], [kept.id]]);
  });
});

describe("redis-store: a call sent twice", () => {
  it("a record call that runs twice (ioredis sends it again after a reconnect) is not refused by its own claim", async () => {
    const store = freshStore();
    const j = job({ deduplicationKey: "once" });
    const args = [store.keys.prefix, Date.now(), 60_000, "call-token", j.id, j.name, j.queue, j.payloadJson, 1, j.enqueuedAt, "", "once"];
    const record = new LuaScript(RECORD);
    const [first, again] = await withRedis(async (client) => [
      await record.run(client, store.keys.indexes, args),
      await record.run(client, store.keys.indexes, args),
    ]);
    expect(first).toEqual([""]);
    expect(again).toEqual([""]);
    // Another call naming the same job (a schedule's tick from another worker) is held by it.
    expect(await store.record([j], 60_000)).toEqual([{ id: j.id, deduplicated: true }]);
  });
});

describe("redis-store: watching", () => {
  it("after its connection is killed, the watcher subscribes again and reports the cancels it missed", async () => {
    const prefix = `tprs${randomUUID().replaceAll("-", "").slice(0, 10)}`;
    const [worker, producer] = [freshStore({ prefix }), freshStore({ prefix })];
    const changes: JobChange[] = [];
    const stop = await worker.watch((change) => changes.push(change));
    try {
      const [running, later] = [job(), job()];
      await worker.record([running, later], 60_000);
      await worker.begin([start(running)]);
      expect(await killClients((name) => name === `${prefix}:watch`)).toBe(1);
      // Published while the watcher is away: nobody hears it…
      expect(await producer.cancel(running.id)).toBe("requested");
      // …so once back, the watcher reports it again, and hears new changes too.
      await waitUntil(() => changes.some((c) => c.id === running.id && c.cancelRequested), "the missed cancel");
      await producer.cancel(later.id);
      await waitUntil(() => changes.some((c) => c.id === later.id && c.status === "cancelled"), "a change after the reconnect");
      // Once the cancelled job has ended, there is nothing left to report again.
      await worker.settle([{ id: running.id, status: "succeeded", resultJson: "null" }]);
      expect(await withRedis((client) => client.smembers(worker.keys.cancelling))).toEqual([]);
      expect(await worker.get(running.id)).toMatchObject({ status: "cancelled" });
    } finally {
      await stop();
    }
  });

  it("a redelivery of a running job whose cancel was asked for (its worker died) ends cancelled, unrun", async () => {
    const store = freshStore();
    const j = job({ deduplicationKey: "held" });
    await store.record([j], 60_000);
    await store.begin([start(j)]);
    expect(await store.cancel(j.id)).toBe("requested");
    const [decision] = await store.begin([start(j, 2)]);
    expect(decision).toMatchObject({ run: false, info: { status: "cancelled" } });
    const next = job({ deduplicationKey: "held" });
    expect(await store.record([next], 60_000)).toEqual([{ id: next.id }]);
    expect(await keysOf(`${store.keys.prefix}:cancelling`)).toEqual([]);
  });
});

describe("redis-store: connections and errors", () => {
  it("opens no connection until first used, and close() is idempotent", async () => {
    const store = new RedisStore({ url: `${REDIS_URL}?prefix=tpidle` });
    expect(await killClients((name) => name.startsWith("tpidle:"))).toBe(0);
    await store.close();
    await store.close();
    await expect(store.get("x")).rejects.toThrow(/closed/);
  });

  it("uses the application's own client without closing it, and watches on a duplicate of it", async () => {
    const connection = new Redis(REDIS_URL, { lazyConnect: true });
    const prefix = `tprs${randomUUID().replaceAll("-", "").slice(0, 10)}`;
    prefixes.push(prefix);
    const store = new RedisStore({ connection, prefix });
    try {
      const j = job();
      const seen: JobChange[] = [];
      const stop = await store.watch((change) => seen.push(change));
      await store.record([j], 60_000);
      await store.begin([start(j)]);
      await store.settle([{ id: j.id, status: "succeeded", resultJson: '"ok"' }]);
      await waitUntil(() => seen.some((c) => c.id === j.id && c.status === "succeeded"), "the change");
      await stop();
      await store.close();
      expect(await connection.ping()).toBe("PONG");
    } finally {
      connection.disconnect();
    }
  });

  it("a wrong password fails with a ConnectionError that carries neither the password nor the command's arguments", async () => {
    const store = new RedisStore({ url: "redis://someone:secret-password@127.0.0.1:6379/0", prefix: "tpauth" });
    opened.push(store);
    const error = await store.get("x").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectionError);
    expect((error as Error).message).toMatch(/^\[taskport\] \[redis-store\] Redis at 127\.0\.0\.1:6379\/0 refused the credentials/);
    const shown = inspect(error, { depth: 10, showHidden: true });
    expect(shown).not.toContain("secret-password");
    expect(shown).not.toMatch(/args|command:/);
    expect(JSON.stringify(await store.check())).not.toContain("secret-password");
  });

  it("a server that stops answering fails each command within its deadline", async () => {
    const relay = await redisRelay();
    try {
      const store = new RedisStore({
        url: relay.urlOf(REDIS_URL),
        prefix: `tprs${randomUUID().replaceAll("-", "").slice(0, 10)}`,
        commandTimeoutMs: 500,
      });
      opened.push(store);
      prefixes.push(store.keys.prefix);
      expect(await store.get("x")).toBeNull();
      relay.blackHole();
      const started = Date.now();
      const error = await store.record([job()], 60_000).catch((e: unknown) => e);
      expect(Date.now() - started).toBeLessThan(2_000);
      expect(error).toBeInstanceOf(DeadlineError);
      expect((error as Error).message).toMatch(/job store record at 127\.0\.0\.1:\d+\/0 got no answer within 500 ms/);
    } finally {
      await relay.close();
    }
  });
});

async function waitUntil(condition: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
