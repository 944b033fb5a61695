import { JobFailedError, TimeoutError } from "@taskport/core";
import { expect } from "vitest";
import type { SuiteContext } from "../run-conformance.ts";
import { readDeadLetters } from "../support/dead-letters.ts";
import { gate, Recorder, sleep } from "../support/waiting.ts";

/** Retries, permanent failure, timeouts, dead letters and lifecycle events. */
export function registerFailures(s: SuiteContext): void {
  const caps = s.capabilities;

  s.group("retries", true, () => {
    s.test(
      "retries",
      "a failing job is retried with increasing attempt numbers until it succeeds",
      async (f) => {
        const attempts = new Recorder<{ attempt: number; maxAttempts: number; at: number }>();
        const job = await f.task(
          "flaky",
          async (_: unknown, ctx) => {
            attempts.push({ attempt: ctx.attempt, maxAttempts: ctx.maxAttempts, at: Date.now() });
            if (ctx.attempt < 3) throw new Error(`boom ${ctx.attempt}`);
            return "ok";
          },
          { retry: { maxAttempts: 3, backoff: "fixed", delayMs: 300, jitter: 0 } },
        );
        const worker = await f.worker({ tasks: [job] });
        const succeeded = new Recorder<number>();
        worker.on("succeeded", (e) => succeeded.push(e.attempt));
        const handle = await job.enqueue(undefined);
        await succeeded.until(1, s.late(20_000), "success");
        expect(attempts.items.map((a) => a.attempt)).toEqual([1, 2, 3]);
        expect(attempts.items.map((a) => a.maxAttempts)).toEqual([3, 3, 3]);
        if (caps.delay) {
          // Backoff lower bound: never early (5 ms slack for clock granularity).
          for (let i = 1; i < attempts.length; i++) {
            const gap = (attempts.items[i]?.at ?? 0) - (attempts.items[i - 1]?.at ?? 0);
            expect(gap).toBeGreaterThanOrEqual(295);
          }
        }
        if (caps.results) {
          expect(await handle.wait({ timeoutMs: s.late(10_000) })).toBe("ok");
          expect(await handle.refresh()).toMatchObject({ status: "succeeded", attempt: 3, maxAttempts: 3 });
        }
      },
      60_000,
    );

    s.test(
      "retries",
      "exponential backoff doubles the delay",
      async (f) => {
        const at = new Recorder<number>();
        const job = await f.task(
          "flaky",
          async (_: unknown, ctx) => {
            at.push(Date.now());
            if (ctx.attempt < 3) throw new Error("again");
          },
          { retry: { maxAttempts: 3, backoff: "exponential", delayMs: 250, jitter: 0 } },
        );
        await f.worker({ tasks: [job] });
        await job.enqueue(undefined);
        const [a = 0, b = 0, c = 0] = await at.until(3, s.late(20_000), "attempts");
        if (caps.delay) {
          expect(b - a).toBeGreaterThanOrEqual(245);
          expect(c - b).toBeGreaterThanOrEqual(495);
        }
      },
      60_000,
    );

    s.test(
      "retries",
      "per-call attempts override the task's policy",
      async (f) => {
        const attempts = new Recorder<number>();
        const job = await f.task(
          "always-fails",
          async (_: unknown, ctx) => {
            attempts.push(ctx.attempt);
            throw new Error("no");
          },
          { retry: { maxAttempts: 1, delayMs: 10, jitter: 0 } },
        );
        const worker = await f.worker({ tasks: [job] });
        const failed = new Recorder<number>();
        worker.on("failed", (e) => failed.push(e.attempt));
        await job.enqueue(undefined, { attempts: 2 });
        await failed.until(1, s.late(20_000), "the final failure");
        expect(attempts.items).toEqual([1, 2]);
        expect(failed.items).toEqual([2]);
      },
      60_000,
    );
  });

  s.group("permanentFailure", true, () => {
    s.test(
      "permanentFailure",
      "after the last attempt the job fails for good, visibly",
      async (f) => {
        const attempts = new Recorder<number>();
        const job = await f.task(
          "doomed",
          async (_: unknown, ctx) => {
            attempts.push(ctx.attempt);
            throw new TypeError("it is broken");
          },
          { retry: { maxAttempts: 2, delayMs: 50, jitter: 0 } },
        );
        const worker = await f.worker({ tasks: [job] });
        const failed = new Recorder<{ attempt: number; name: string; message: string }>();
        worker.on("failed", (e) => failed.push({ attempt: e.attempt, name: e.error.name, message: e.error.message }));
        const handle = await job.enqueue(undefined);
        await failed.until(1, s.late(20_000), "the failed event");
        expect(failed.items).toEqual([{ attempt: 2, name: "TypeError", message: "it is broken" }]);
        await sleep(500);
        expect(attempts.items).toEqual([1, 2]);
        if (caps.results) {
          const error = await handle.wait({ timeoutMs: s.late(10_000) }).catch((e: unknown) => e);
          expect(error).toBeInstanceOf(JobFailedError);
          expect((error as JobFailedError).error?.message).toBe("it is broken");
          expect((await handle.refresh()).status).toBe("failed");
        }
      },
      60_000,
    );

    s.test("permanentFailure", "a result that is not JSON fails the job without retry", async (f) => {
      const attempts = new Recorder<number>();
      const job = await f.task(
        "bad-result",
        async (_: unknown, ctx) => {
          attempts.push(ctx.attempt);
          return { when: new Date() } as unknown as string;
        },
        { retry: { maxAttempts: 3, delayMs: 10 } },
      );
      const worker = await f.worker({ tasks: [job] });
      const failed = new Recorder<string>();
      worker.on("failed", (e) => failed.push(e.error.name));
      await job.enqueue(undefined);
      await failed.until(1, s.late(10_000), "the failed event");
      await sleep(200);
      expect(failed.items).toEqual(["SerializationError"]);
      expect(attempts.items).toEqual([1]);
    });
  });

  s.group("timeouts", true, () => {
    s.test("timeouts", "a job past its timeout has its signal aborted and the attempt fails", async (f) => {
      const reasons = new Recorder<unknown>();
      const job = await f.task(
        "slow",
        async (_: unknown, ctx) => {
          await new Promise<void>((resolve) => {
            ctx.signal.addEventListener("abort", () => {
              reasons.push(ctx.signal.reason);
              resolve();
            });
          });
        },
        { timeoutMs: 200 },
      );
      const worker = await f.worker({ tasks: [job] });
      const failed = new Recorder<string>();
      worker.on("failed", (e) => failed.push(e.error.name));
      const start = Date.now();
      await job.enqueue(undefined);
      await failed.until(1, s.late(10_000), "the failed event");
      expect(Date.now() - start).toBeGreaterThanOrEqual(195);
      expect(failed.items).toEqual([TimeoutError.name]);
      expect(reasons.items[0]).toBeInstanceOf(TimeoutError);
    });

    s.test("timeouts", "a worker goes on taking jobs after one that timed out and heeded its signal", async (f) => {
      const ran = new Recorder<number>();
      const job = await f.task(
        "heeds",
        async (p: { i: number }, ctx) => {
          ran.push(p.i);
          // Ends at the abort, in the same turn as the timeout that settles its job.
          if (p.i === 1) await new Promise((resolve) => ctx.signal.addEventListener("abort", resolve));
        },
        { timeoutMs: 100, retry: { maxAttempts: 1 } },
      );
      await f.worker({ tasks: [job], concurrency: 1 });
      await job.enqueue({ i: 1 });
      await ran.until(1, s.late(10_000), "the first job");
      await job.enqueue({ i: 2 });
      await ran.until(2, s.late(5_000), "the next job, on the same worker");
      expect(ran.items).toEqual([1, 2]);
    });

    s.test("timeouts", "a timed-out attempt is retried by the policy; a per-call timeout overrides the task's", async (f) => {
      const attempts = new Recorder<number>();
      const job = await f.task(
        "slow-then-fast",
        async (_: unknown, ctx) => {
          attempts.push(ctx.attempt);
          if (ctx.attempt === 1) await sleep(2_000);
        },
        { timeoutMs: 60_000, retry: { maxAttempts: 2, delayMs: 10, jitter: 0 } },
      );
      const worker = await f.worker({ tasks: [job] });
      const succeeded = new Recorder<number>();
      worker.on("succeeded", (e) => succeeded.push(e.attempt));
      await job.enqueue(undefined, { timeoutMs: 150 });
      await succeeded.until(1, s.late(15_000), "success on the second attempt");
      expect(attempts.items).toEqual([1, 2]);
      expect(succeeded.items).toEqual([2]);
    });

    s.test(
      "timeouts",
      "a handler that ignores its signal keeps its concurrency slot until it ends; its job fails at the timeout",
      async (f) => {
        let active = 0;
        let peak = 0;
        const bodies = new Recorder<{ id: string; endedAt: number }>();
        const job = await f.task(
          "stubborn",
          async (_: { i: number }, ctx) => {
            active++;
            peak = Math.max(peak, active);
            await sleep(400); // deaf to ctx.signal
            active--;
            bodies.push({ id: ctx.jobId, endedAt: Date.now() });
          },
          { timeoutMs: 100 },
        );
        const handles = await job.enqueueMany([{ i: 1 }, { i: 2 }, { i: 3 }]);
        const worker = await f.worker({ tasks: [job], concurrency: 1 });
        const failed = new Recorder<{ id: string; at: number; error: string }>();
        const overran = new Recorder<string>();
        worker.on("failed", (e) => failed.push({ id: e.job.id, at: Date.now(), error: e.error.name }));
        worker.on("error", (e) => {
          if (e.job) overran.push(e.job.id);
        });
        await bodies.until(3, s.late(20_000), "handler bodies to end");
        expect(peak).toBe(1);
        await failed.until(3, s.late(10_000), "failed events");
        expect(failed.items.map((x) => x.error)).toEqual([TimeoutError.name, TimeoutError.name, TimeoutError.name]);
        // Each job was settled at its timeout, while its body still ran.
        for (const body of bodies.items) {
          const failure = failed.items.find((x) => x.id === body.id);
          expect(failure?.at).toBeLessThan(body.endedAt);
        }
        // The worker names each job whose handler outlived its timeout.
        await overran.until(3, s.late(5_000), "error events naming the overrunning jobs");
        expect([...overran.items].sort()).toEqual(handles.map((h) => h.id).sort());
      },
      60_000,
    );

    s.test(
      "timeouts",
      "a worker whose only slot is held by a handler deaf to its timeout takes no job into it: another worker runs the next one",
      async (f) => {
        const started = new Recorder<{ i: number; by: string }>();
        const failed = new Recorder<string>();
        const deaf = gate();
        const handler = (by: string) => async (p: { i: number }) => {
          started.push({ i: p.i, by });
          // Deaf to ctx.signal: the job fails at its timeout, but the body keeps the slot.
          if (p.i === 1) await Promise.race([deaf.promise, sleep(30_000)]);
        };
        const options = { timeoutMs: 150, retry: { maxAttempts: 1 } };
        const job = await f.task("stubborn", handler("stuck"), options);
        await f.worker({ tasks: [job], concurrency: 1, listen: (w) => w.on("failed", (e) => failed.push(e.error.name)) });
        await job.enqueue({ i: 1 });
        await failed.until(1, s.late(10_000), "the first job's timeout");
        await job.enqueue({ i: 2 });
        await sleep(300); // what the engine hands the stuck worker ahead of its free slots, it has by now
        const other = await f.otherBackend();
        const taken = await f.task("stubborn", handler("other"), options, other);
        await f.worker({ tasks: [taken], backend: other, concurrency: 1 });
        try {
          // Well before any lease or visibility timeout a held job would wait out.
          await started.until(2, s.late(2_500), "the next job, on the other worker");
        } finally {
          deaf.open();
        }
        expect(started.items).toEqual([
          { i: 1, by: "stuck" },
          { i: 2, by: "other" },
        ]);
      },
      60_000,
    );
  });

  s.group("deadLetter", caps.deadLetter, () => {
    s.test("deadLetter", "a job that failed for good can be inspected afterwards", async (f) => {
      const job = await f.task(
        "doomed",
        async () => {
          throw new Error("dead on arrival");
        },
        { retry: { maxAttempts: 1 } },
      );
      const worker = await f.worker({ tasks: [job] });
      const failed = new Recorder<string>();
      worker.on("failed", (e) => failed.push(e.job.id));
      const handle = await job.enqueue({ keep: "me" });
      await failed.until(1, s.late(10_000), "the failed event");
      const adapter = worker.adapter;
      expect(typeof adapter?.listDeadLetters).toBe("function");
      const letters = await readDeadLetters(adapter, f.queue(), (found) => found.length > 0, s.late(10_000));
      expect(letters.map((l) => l.payload)).toContainEqual({ keep: "me" });
      const letter = letters.find((l) => l.id === handle.id) ?? letters[0];
      expect(letter?.error?.message).toContain("dead on arrival");
    });

    s.test("deadLetter", "every job that failed for good is listed, whether it timed out or threw", async (f) => {
      const job = await f.task(
        "doomed",
        async (p: { n: number }, ctx) => {
          if (p.n === 3) throw new Error("thrown");
          // Until the timeout aborts it.
          await new Promise((resolve) => ctx.signal.addEventListener("abort", resolve));
        },
        { retry: { maxAttempts: 1 }, timeoutMs: 100 },
      );
      const worker = await f.worker({ tasks: [job], concurrency: 3 });
      const failed = new Recorder<string>();
      worker.on("failed", (e) => failed.push(e.job.id));
      const handles = await job.enqueueMany([{ n: 1 }, { n: 2 }, { n: 3 }]);
      await failed.until(3, s.late(10_000), "three failed events");
      // Closing waits for every settlement, so the letters are stored before the first look.
      await worker.close();
      const ids = handles.map((h) => h.id).sort();
      const letters = await readDeadLetters(worker.adapter, f.queue(), (found) => found.length >= ids.length, s.late(10_000));
      expect(letters.map((l) => l.id).sort()).toEqual(ids);
    });
  });

  s.group("events", true, () => {
    s.test("events", "lifecycle events fire in order: started, retrying, started, succeeded; enqueued on the producer", async (f) => {
      const enqueued = new Recorder<string>();
      const events = new Recorder<string>();
      const job = await f.task(
        "flaky",
        async (_: unknown, ctx) => {
          if (ctx.attempt === 1) throw new Error("first try fails");
          return 5;
        },
        { retry: { maxAttempts: 2, delayMs: 20, jitter: 0 } },
      );
      const backend = await f.backend();
      backend.on("enqueued", (e) => enqueued.push(`${e.job.name}:${e.job.id}`));
      const worker = await f.worker({ tasks: [job] });
      worker.on("started", (e) => events.push(`started:${e.attempt}`));
      worker.on("retrying", (e) => events.push(`retrying:${e.attempt}:${e.error.message}`));
      worker.on("succeeded", (e) => events.push(`succeeded:${e.attempt}:${JSON.stringify(e.result)}`));
      worker.on("failed", () => events.push("failed"));
      const handle = await job.enqueue(undefined);
      // The producer's event and the worker's may interleave: a worker can start before enqueue() returns.
      expect(enqueued.items).toEqual([`flaky:${handle.id}`]);
      await events.until(4, s.late(15_000), "events");
      await sleep(100);
      expect(events.items).toEqual(["started:1", "retrying:1:first try fails", "started:2", "succeeded:2:5"]);
    });

    s.test("events", "jobs queued before the worker starts emit every event to listeners attached once startWorker resolves", async (f) => {
      const job = await f.task("maybe", async (p: { fail: boolean }) => {
        if (p.fail) throw new Error("planned failure");
        return "ok";
      });
      const handles = await job.enqueueMany([{ fail: false }, { fail: true }, { fail: false }, { fail: true }]);
      // The README's pattern: `const worker = await startWorker(…)`, then `worker.on(…)`.
      const worker = await f.worker({ tasks: [job], concurrency: 4 });
      const started = new Recorder<string>();
      const succeeded = new Recorder<string>();
      const failed = new Recorder<string>();
      worker.on("started", (e) => started.push(e.job.id));
      worker.on("succeeded", (e) => succeeded.push(e.job.id));
      worker.on("failed", (e) => failed.push(e.job.id));
      await started.until(4, s.late(10_000), "started events");
      await failed.until(2, s.late(10_000), "failed events");
      await succeeded.until(2, s.late(10_000), "succeeded events");
      await sleep(100);
      const ids = handles.map((h) => h.id);
      expect([...started.items].sort()).toEqual([...ids].sort());
      expect([...succeeded.items].sort()).toEqual([ids[0], ids[2]].sort());
      expect([...failed.items].sort()).toEqual([ids[1], ids[3]].sort());
    });
  });
}
