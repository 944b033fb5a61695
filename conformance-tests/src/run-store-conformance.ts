import { randomUUID } from "node:crypto";
import { inspect } from "node:util";
import { ConnectionError, type JobChange, type JobStore, type NewJob, TaskportError } from "@taskport/core";
import { afterAll, describe, expect, it } from "vitest";
import { sleep, waitFor } from "./support/waiting.ts";

export interface StoreConformanceOptions {
  /** Store name, used in test titles. */
  readonly name: string;
  /**
   * A store over the same data for every call with the same `namespace` (a schema, a key prefix),
   * as two processes sharing one database see it.
   */
  readonly createStore: (namespace: string) => JobStore | Promise<JobStore>;
  /** A store pointed at a server that does not answer, with the password `secret-password` in its URL. */
  readonly unreachableStore?: () => JobStore | Promise<JobStore>;
  /** Remove what a namespace left behind (a schema, keys). */
  readonly cleanup?: (namespace: string) => Promise<void>;
}

const RETAIN_ALL = { succeededMs: 3_600_000, failedMs: 3_600_000 };

/**
 * The job store contract's obligations, tested on the store alone (the end-to-end behaviour of an
 * engine with a store is `runConformance` with `withJobStore`). Call it at the top level of a
 * vitest file: `runStoreConformance({ name: "postgres-store", createStore: (ns) => … })`.
 */
export function runStoreConformance(options: StoreConformanceOptions): void {
  const opened: JobStore[] = [];
  const namespaces: string[] = [];
  const pair = async (): Promise<[JobStore, JobStore]> => {
    const namespace = `tps${randomUUID().replaceAll("-", "").slice(0, 12)}`;
    namespaces.push(namespace);
    const a = await options.createStore(namespace);
    const b = await options.createStore(namespace);
    opened.push(a, b);
    return [a, b];
  };

  afterAll(async () => {
    await Promise.allSettled(opened.map((store) => store.close()));
    if (options.cleanup) await Promise.allSettled(namespaces.map((ns) => options.cleanup?.(ns)));
  });

  describe(`job store: ${options.name}`, () => {
    it("opens no connection until first used, and check() finds nothing wrong", async () => {
      const [store] = await pair();
      expect(await store.check()).toEqual([]);
    });

    it("records a batch, reads each job back as queued or scheduled, and confirms it", async () => {
      const [store, other] = await pair();
      const now = Date.now();
      const jobs = [job({ payloadJson: '{"b":1,"a":"ü\\u0000"}' }), job({ runAt: now + 60_000 })];
      const receipts = await store.record(jobs, 60_000);
      expect(receipts).toEqual([{ id: jobs[0]?.id }, { id: jobs[1]?.id }]);
      await store.confirm(jobs.map((j) => j.id));
      const first = await other.get(jobs[0]?.id as string);
      expect(first).toMatchObject({ id: jobs[0]?.id, name: "task", queue: "q", status: "queued", attempt: 0, maxAttempts: 3 });
      expect(first?.payload).toEqual({ b: 1, a: "ü\u0000" });
      expect(await other.get(jobs[1]?.id as string)).toMatchObject({ status: "scheduled", runAt: now + 60_000 });
      expect(await other.get(randomUUID())).toBeNull();
    });

    it("holds a deduplication key until the job finishes for good, in its queue only", async () => {
      const [store, other] = await pair();
      const first = job({ deduplicationKey: "k" });
      await store.record([first], 60_000);
      await store.confirm([first.id]);
      const again = job({ deduplicationKey: "k" });
      expect(await other.record([again], 60_000)).toEqual([{ id: first.id, deduplicated: true }]);
      const elsewhere = job({ deduplicationKey: "k", queue: "other" });
      expect(await other.record([elsewhere], 60_000)).toEqual([{ id: elsewhere.id }]);
      // A retry keeps the key; the final outcome releases it.
      await store.begin([start(first)]);
      await store.settle([{ id: first.id, status: "failed", error: { name: "Error", message: "x" }, retryAt: Date.now() }]);
      expect((await other.record([job({ deduplicationKey: "k" })], 60_000))[0]).toMatchObject({ deduplicated: true });
      await store.begin([start(first, 2)]);
      await store.settle([{ id: first.id, status: "succeeded", resultJson: "42" }]);
      const after = job({ deduplicationKey: "k" });
      expect(await other.record([after], 60_000)).toEqual([{ id: after.id }]);
      expect(await store.get(first.id)).toMatchObject({ status: "succeeded", result: 42, attempt: 2 });
    });

    it("two racing batches with one key record one job", async () => {
      const [store, other] = await pair();
      const racing = Array.from({ length: 8 }, (_, i) => job({ deduplicationKey: "race", payloadJson: String(i) }));
      const receipts = await Promise.all(racing.map((j, i) => (i % 2 ? store : other).record([j], 60_000)));
      const kept = receipts.flat().filter((r) => !r.deduplicated);
      expect(kept).toHaveLength(1);
      expect(new Set(receipts.flat().map((r) => r.id))).toEqual(new Set([kept[0]?.id]));
    });

    it("a job enqueued again under its own id and key while it waits is held by itself (every worker enqueues a schedule's tick so)", async () => {
      const [store, other] = await pair();
      const tick = job({ deduplicationKey: "tick" });
      await store.record([tick], 60_000);
      await store.confirm([tick.id]);
      expect(await other.record([{ ...tick, enqueuedAt: Date.now() }], 60_000)).toEqual([{ id: tick.id, deduplicated: true }]);
      expect(await other.get(tick.id)).toMatchObject({ status: "queued" });
    });

    it("a job recorded again under its own id (a relay handing a batch over again) is kept as it is, held by itself", async () => {
      const [store, other] = await pair();
      const [finished, pending] = [job(), job()];
      await store.record([finished, pending], 60_000);
      await store.confirm([finished.id]);
      await store.begin([start(finished)]);
      await store.settle([{ id: finished.id, status: "succeeded", resultJson: '"done"' }]);
      expect(await other.record([finished, pending], 60_000)).toEqual([
        { id: finished.id, deduplicated: true },
        { id: pending.id, deduplicated: true },
      ]);
      // Not queued again: the engine's repeat of a finished job is not run.
      expect(await other.get(finished.id)).toMatchObject({ status: "succeeded", result: "done" });
      expect(await other.begin([start(finished)])).toMatchObject([{ run: false }]);
    });

    it("one batch with the same key twice records the first job only", async () => {
      const [store] = await pair();
      const [a, b] = [job({ deduplicationKey: "twice" }), job({ deduplicationKey: "twice" })];
      expect(await store.record([a, b], 60_000)).toEqual([{ id: a.id }, { id: a.id, deduplicated: true }]);
    });

    it("an enqueue that died before the engine had the job holds its key no longer than its claim", async () => {
      const [store, other] = await pair();
      const dead = job({ deduplicationKey: "claimed" });
      await store.record([dead], 300); // never confirmed: the process died here
      expect((await other.record([job({ deduplicationKey: "claimed" })], 300))[0]).toMatchObject({ deduplicated: true });
      await sleep(400);
      const next = job({ deduplicationKey: "claimed" });
      expect(await other.record([next], 60_000)).toEqual([{ id: next.id }]);
      expect(await other.get(dead.id)).toBeNull();
    });

    it("forget() deletes records the engine refused and frees their keys", async () => {
      const [store] = await pair();
      const refused = job({ deduplicationKey: "refused" });
      await store.record([refused], 60_000);
      await store.forget([refused.id]);
      expect(await store.get(refused.id)).toBeNull();
      const next = job({ deduplicationKey: "refused" });
      expect(await store.record([next], 60_000)).toEqual([{ id: next.id }]);
    });

    it("begin counts every start as an attempt, crashes included, and never below the engine's count", async () => {
      const [store, other] = await pair();
      const j = job();
      await store.record([j], 60_000);
      await store.confirm([j.id]);
      expect(await store.begin([start(j)])).toEqual([{ run: true, attempt: 1 }]);
      expect(await other.get(j.id)).toMatchObject({ status: "running", attempt: 1 });
      // The worker died: the engine delivers it again, still calling it attempt 1.
      expect(await other.begin([start(j)])).toEqual([{ run: true, attempt: 2 }]);
      expect(await other.begin([start(j, 5)])).toEqual([{ run: true, attempt: 5 }]);
    });

    it("a start given back by a shutdown does not count as an attempt", async () => {
      const [store] = await pair();
      const j = job();
      await store.record([j], 60_000);
      await store.begin([start(j)]);
      await store.settle([{ id: j.id, status: "returned" }]);
      expect(await store.get(j.id)).toMatchObject({ status: "queued", attempt: 0 });
      expect(await store.begin([start(j)])).toEqual([{ run: true, attempt: 1 }]);
    });

    it("a job the store has no record of is recorded as running", async () => {
      const [store] = await pair();
      const j = job();
      expect(await store.begin([start(j)])).toEqual([{ run: true, attempt: 1 }]);
      expect(await store.get(j.id)).toMatchObject({ id: j.id, status: "running", name: "task", queue: "q" });
    });

    it("settles a batch: succeeded with its result, failed with its error, retried as scheduled", async () => {
      const [store] = await pair();
      const [ok, bad, again] = [job(), job(), job()];
      await store.record([ok, bad, again], 60_000);
      await store.begin([start(ok), start(bad), start(again)]);
      const retryAt = Date.now() + 60_000;
      await store.settle([
        { id: ok.id, status: "succeeded", resultJson: '{"z":1,"a":[null,"é"]}' },
        { id: bad.id, status: "failed", error: { name: "RangeError", message: "no" } },
        { id: again.id, status: "failed", error: { name: "Error", message: "later" }, retryAt },
      ]);
      expect(await store.get(ok.id)).toMatchObject({ status: "succeeded", result: { z: 1, a: [null, "é"] } });
      const failed = await store.get(bad.id);
      expect(failed).toMatchObject({ status: "failed", error: { name: "RangeError", message: "no" } });
      expect(failed?.finishedAt).toBeGreaterThan(0);
      expect(await store.get(again.id)).toMatchObject({ status: "scheduled", runAt: retryAt, error: { message: "later" } });
    });

    it("a finished job is not run again when the engine delivers it again", async () => {
      const [store] = await pair();
      const j = job();
      await store.record([j], 60_000);
      await store.begin([start(j)]);
      await store.settle([{ id: j.id, status: "succeeded", resultJson: '"done"' }]);
      const [decision] = await store.begin([start(j)]);
      expect(decision).toMatchObject({ run: false, info: { status: "succeeded", result: "done" } });
    });

    it("stores progress as JSON", async () => {
      const [store, other] = await pair();
      const j = job();
      await store.record([j], 60_000);
      await store.begin([start(j)]);
      await store.progress(j.id, '{"done":3,"of":10}');
      expect((await other.get(j.id))?.progress).toEqual({ done: 3, of: 10 });
    });

    it("cancels a queued job for good and frees its key; a finished job cannot be cancelled", async () => {
      const [store, other] = await pair();
      const j = job({ deduplicationKey: "c" });
      await store.record([j], 60_000);
      await store.confirm([j.id]);
      expect(await other.cancel(j.id)).toBe("cancelled");
      expect(await store.get(j.id)).toMatchObject({ status: "cancelled" });
      expect((await store.begin([start(j)]))[0]).toMatchObject({ run: false, info: { status: "cancelled" } });
      const next = job({ deduplicationKey: "c" });
      expect(await store.record([next], 60_000)).toEqual([{ id: next.id }]);
      expect(await store.cancel(j.id)).toBe(false);
      expect(await store.cancel(randomUUID())).toBe(false);
    });

    it("a cancel of a running job is reported to watchers in other processes, and wins over the attempt's outcome", async () => {
      const [store, other] = await pair();
      const changes: JobChange[] = [];
      const stop = await store.watch((change) => changes.push(change));
      try {
        const j = job();
        await store.record([j], 60_000);
        await store.begin([start(j)]);
        expect(await other.cancel(j.id)).toBe("requested");
        await waitFor(() => changes.some((c) => c.id === j.id && c.cancelRequested), 2_000, "the cancel to reach the watcher");
        await store.settle([{ id: j.id, status: "failed", error: { name: "AbortError", message: "aborted" }, retryAt: Date.now() }]);
        expect(await other.get(j.id)).toMatchObject({ status: "cancelled" });
        await waitFor(() => changes.some((c) => c.id === j.id && c.status === "cancelled"), 2_000, "the final status");
      } finally {
        await stop();
      }
    });

    it("cancel racing with start ends in exactly one way: never run, or run and then cancelled", async () => {
      const [store, other] = await pair();
      for (let i = 0; i < 20; i++) {
        const j = job();
        await store.record([j], 60_000);
        await store.confirm([j.id]);
        const [cancelled, [decision]] = await Promise.all([other.cancel(j.id), store.begin([start(j)])]);
        if (decision?.run) {
          expect(cancelled).toBe("requested");
          await store.settle([{ id: j.id, status: "succeeded", resultJson: "null" }]);
        } else {
          expect(cancelled).toBe("cancelled");
        }
        expect(await store.get(j.id)).toMatchObject({ status: "cancelled" });
      }
    });

    it("watchers in other processes see final statuses", async () => {
      const [store, other] = await pair();
      const changes: JobChange[] = [];
      const stop = await other.watch((change) => changes.push(change));
      try {
        const j = job();
        await store.record([j], 60_000);
        await store.begin([start(j)]);
        await store.settle([{ id: j.id, status: "succeeded", resultJson: "1" }]);
        await waitFor(() => changes.some((c) => c.id === j.id && c.status === "succeeded"), 2_000, "the change");
      } finally {
        await stop();
      }
    });

    it("sweep() deletes finished jobs past their retention and keeps the rest", async () => {
      const [store] = await pair();
      const [done, failed, waiting] = [job(), job(), job()];
      await store.record([done, failed, waiting], 60_000);
      await store.confirm([done.id, failed.id, waiting.id]);
      await store.begin([start(done), start(failed)]);
      await store.settle([
        { id: done.id, status: "succeeded", resultJson: "1" },
        { id: failed.id, status: "failed", error: { name: "Error", message: "x" } },
      ]);
      await store.sweep(RETAIN_ALL);
      expect(await store.get(done.id)).not.toBeNull();
      await sleep(50);
      await store.sweep({ succeededMs: 10, failedMs: 3_600_000 });
      expect(await store.get(done.id)).toBeNull();
      expect(await store.get(failed.id)).not.toBeNull();
      await store.sweep({ succeededMs: 10, failedMs: 10 });
      expect(await store.get(failed.id)).toBeNull();
      expect(await store.get(waiting.id)).toMatchObject({ status: "queued" });
    });

    it("stats() counts a queue's records per status, a due scheduled one as queued, and how long the oldest queued one has waited", async (ctx) => {
      const [store, other] = await pair();
      if (!other.stats) return ctx.skip();
      const now = Date.now();
      const waiting = job({ enqueuedAt: now - 5_000 });
      const later = job({ runAt: now + 60_000 });
      const due = job({ runAt: now - 1_000 });
      const [running, done, failed, cancelled, retried] = [job(), job(), job(), job(), job()];
      const elsewhere = job({ queue: "elsewhere" });
      const all = [waiting, later, due, running, done, failed, cancelled, retried, elsewhere];
      await store.record(all, 60_000);
      await store.confirm(all.map((j) => j.id));
      const dead = job();
      await store.record([dead], 1);
      await store.begin([running, done, failed, retried].map((j) => start(j)));
      await store.settle([
        { id: done.id, status: "succeeded", resultJson: "1" },
        { id: failed.id, status: "failed", error: { name: "Error", message: "x" } },
        { id: retried.id, status: "failed", error: { name: "Error", message: "x" }, retryAt: Date.now() },
      ]);
      expect(await store.cancel(cancelled.id)).toBe("cancelled");
      await sleep(20);
      // A record whose enqueue died counts at most until the next sweep.
      await store.sweep(RETAIN_ALL);

      const [q, empty] = await other.stats(["q", "empty"]);
      expect(q).toMatchObject({ queue: "q", counts: { scheduled: 1, queued: 3, running: 1, succeeded: 1, failed: 1, cancelled: 1 } });
      expect(q?.oldestQueuedAgeMs).toBeGreaterThanOrEqual(5_000);
      expect(q?.oldestQueuedAgeMs).toBeLessThan(60_000);
      expect(empty).toEqual({ queue: "empty", counts: { scheduled: 0, queued: 0, running: 0, succeeded: 0, failed: 0, cancelled: 0 } });
      const every = await other.stats();
      expect(every.map((stats) => stats.queue).sort()).toEqual(["elsewhere", "q"]);
      expect(every.find((stats) => stats.queue === "elsewhere")?.counts.queued).toBe(1);
    });

    it("listJobs() pages through a queue's records, most recently recorded first, by status as get() reads it", async (ctx) => {
      const [store, other] = await pair();
      if (!other.listJobs) return ctx.skip();
      const jobs: NewJob[] = [];
      for (let i = 0; i < 5; i++) {
        const j = job({ payloadJson: JSON.stringify({ i }), payload: { i } });
        await store.record([j], 60_000);
        jobs.push(j);
      }
      const later = job({ runAt: Date.now() + 60_000 });
      await store.record([later, job({ queue: "elsewhere" })], 60_000);
      await store.begin([start(jobs[1] as NewJob)]);
      const newestFirst = [later, ...[...jobs].reverse()].map((j) => j.id);

      const seen: string[] = [];
      let cursor: string | undefined;
      for (let pages = 0; pages < 10; pages++) {
        const page = await other.listJobs("q", { limit: 2, ...(cursor ? { cursor } : {}) });
        expect(page.jobs.length).toBeLessThanOrEqual(2);
        seen.push(...page.jobs.map((j) => j.id));
        cursor = page.cursor;
        if (!cursor) break;
      }
      expect(seen).toEqual(newestFirst);
      const queued = await other.listJobs("q", { status: "queued", limit: 10 });
      expect(queued.jobs.map((j) => j.id)).toEqual([4, 3, 2, 0].map((i) => jobs[i]?.id));
      expect(queued.jobs[0]).toMatchObject({ name: "task", queue: "q", status: "queued", payload: { i: 4 } });
      expect((await other.listJobs("q", { status: "running", limit: 10 })).jobs.map((j) => j.id)).toEqual([jobs[1]?.id]);
      expect((await other.listJobs("q", { status: "scheduled", limit: 10 })).jobs.map((j) => j.id)).toEqual([later.id]);
      expect((await other.listJobs("q", { status: "failed", limit: 10 })).jobs).toEqual([]);
      await expect(other.listJobs("q", { limit: 2, cursor: "not a cursor" })).rejects.toBeInstanceOf(TaskportError);
    });

    if (options.unreachableStore) {
      it("a store that is down fails with a ConnectionError within seconds, and no password in sight", async () => {
        const store = await options.unreachableStore?.();
        if (!store) return;
        opened.push(store);
        const started = Date.now();
        const error = await store.record([job()], 60_000).catch((e: unknown) => e);
        expect(Date.now() - started).toBeLessThan(15_000);
        expect(error).toBeInstanceOf(ConnectionError);
        expect(error).toBeInstanceOf(TaskportError);
        expect(inspect(error, { depth: 5 })).not.toContain("secret-password");
        const problems = await store.check();
        expect(problems.length).toBeGreaterThan(0);
        expect(JSON.stringify(problems)).not.toContain("secret-password");
      }, 30_000);
    }
  });
}

function job(overrides: Partial<NewJob> = {}): NewJob {
  return {
    id: randomUUID(),
    name: "task",
    queue: "q",
    payload: null,
    payloadJson: "null",
    priority: 0,
    maxAttempts: 3,
    enqueuedAt: Date.now(),
    ...overrides,
  };
}

function start(j: NewJob, attempt = 1) {
  return { id: j.id, name: j.name, queue: j.queue, attempt, maxAttempts: j.maxAttempts };
}
