import { type AnyTask, JobFailedError, type JobInfo, type Worker, WorkerLostError } from "@taskport/core";
import { expect } from "vitest";
import type { SuiteContext } from "../run-conformance.ts";
import { readDeadLetters } from "../support/dead-letters.ts";
import type { Fixture } from "../support/fixture.ts";
import { gate, Recorder, sleep, waitFor } from "../support/waiting.ts";

/** One delivery as a crash test's handler saw it. */
interface Delivered {
  readonly id: string;
  readonly attempt: number;
  readonly payload: unknown;
}

/** Concurrency, competing workers, graceful shutdown, crash recovery and its counting, service restart. */
export function registerWorkers(s: SuiteContext): void {
  const caps = s.capabilities;
  const crash = (worker: Worker) => s.options.harness?.crash?.(worker) ?? (worker.consumer as NonNullable<Worker["consumer"]>).abandon();

  /** A task that records each delivery and never settles the first `hang` of them: their workers are crashed. */
  function crashingTask(f: Fixture, deliveries: Recorder<Delivered>, hang: number, maxAttempts: number) {
    return f.task(
      "job",
      async (p: { n: number }, ctx) => {
        deliveries.push({ id: ctx.jobId, attempt: ctx.attempt, payload: p });
        if (deliveries.length <= hang) await sleep(120_000);
        return "done";
      },
      { retry: { maxAttempts, delayMs: 10, jitter: 0 } },
    );
  }

  /**
   * Crash `times` workers in turn, each a process of its own as far as the engine can tell: each is
   * crashed once the job's next delivery has reached its handler (which must not settle it).
   */
  async function crashDuringDeliveries(f: Fixture, job: AnyTask, deliveries: Recorder<unknown>, times: number): Promise<void> {
    for (let i = 1; i <= times; i++) {
      const worker = await f.worker({ tasks: [job], backend: await f.otherBackend() });
      await deliveries.until(i, s.late(90_000), `delivery ${i}`);
      await crash(worker);
    }
  }

  s.group("concurrency", true, () => {
    s.test("concurrency", "the limit is respected and reached", async (f) => {
      let active = 0;
      let peak = 0;
      const release = gate();
      const done = new Recorder<number>();
      const job = await f.task("job", async (p: { i: number }) => {
        active++;
        peak = Math.max(peak, active);
        await release.promise;
        active--;
        done.push(p.i);
      });
      await job.enqueueMany(Array.from({ length: 12 }, (_, i) => ({ i })));
      await f.worker({ tasks: [job], concurrency: 4 });
      await waitFor(() => active === 4, s.late(10_000), "4 jobs running at once");
      await sleep(200);
      expect(active).toBe(4);
      release.open();
      await done.until(12, s.late(15_000), "finished jobs");
      expect(peak).toBe(4);
    });

    s.test("concurrency", "one limit holds across all the queues of a worker", async (f) => {
      let active = 0;
      let peak = 0;
      const release = gate();
      const done = new Recorder<number>();
      const handler = async (p: { i: number }) => {
        active++;
        peak = Math.max(peak, active);
        await release.promise;
        active--;
        done.push(p.i);
      };
      const first = await f.task("first", handler, { queue: f.queue("first") });
      const second = await f.task("second", handler, { queue: f.queue("second") });
      await first.enqueueMany(Array.from({ length: 3 }, (_, i) => ({ i })));
      await second.enqueueMany(Array.from({ length: 3 }, (_, i) => ({ i: i + 3 })));
      await f.worker({ tasks: [first, second], concurrency: 2 });
      await waitFor(() => active === 2, s.late(10_000), "2 jobs running at once");
      await sleep(300);
      expect(peak).toBe(2);
      release.open();
      await done.until(6, s.late(15_000), "finished jobs");
      expect(peak).toBe(2);
    });

    s.test("concurrency", "concurrency 1 runs one job at a time", async (f) => {
      let active = 0;
      let peak = 0;
      const done = new Recorder<number>();
      const job = await f.task("job", async (p: { i: number }) => {
        active++;
        peak = Math.max(peak, active);
        await sleep(20);
        active--;
        done.push(p.i);
      });
      await job.enqueueMany(Array.from({ length: 6 }, (_, i) => ({ i })));
      await f.worker({ tasks: [job], concurrency: 1 });
      await done.until(6, s.late(15_000), "finished jobs");
      expect(peak).toBe(1);
    });
  });

  s.group("competingWorkers", true, () => {
    s.test(
      "competingWorkers",
      "several workers share a queue: each job runs once, none is lost",
      async (f) => {
        const seen = new Recorder<{ i: number; worker: string }>();
        const count = 200;
        const makeTask = async (worker: string) =>
          f.task("job", async (p: { i: number }) => {
            seen.push({ i: p.i, worker });
            await sleep(2);
          });
        const first = await makeTask("first");
        const second = await makeTask("second");
        const otherBackend = await f.otherBackend();
        const workers = {
          first: await f.worker({ tasks: [first], concurrency: 5 }),
          second: await f.worker({ tasks: [second], concurrency: 5, backend: otherBackend }),
        };
        await first.enqueueMany(Array.from({ length: count }, (_, i) => ({ i })));
        await seen.until(count / 2, s.late(30_000), "the first half of the deliveries");
        // Halfway, the worker that has taken more stops: the rest must reach the other. Which worker
        // takes a job is the engine's choice, and a queue served one job at a time (an SQS FIFO
        // queue's one message group) may hand every job to the worker that polls again first.
        const tookFirst = seen.items.filter((x) => x.worker === "first").length;
        await (tookFirst * 2 >= seen.length ? workers.first : workers.second).close();
        await seen.until(count, s.late(30_000), "deliveries");
        await sleep(300);
        expect(seen.length).toBe(count);
        expect(new Set(seen.items.map((x) => x.i)).size).toBe(count);
        expect(new Set(seen.items.map((x) => x.worker)).size).toBe(2);
      },
      60_000,
    );
  });

  s.group("gracefulShutdown", true, () => {
    s.test("gracefulShutdown", "close() lets running jobs finish and takes no new ones", async (f) => {
      const started = new Recorder<number>();
      const finished = new Recorder<number>();
      const job = await f.task("job", async (p: { i: number }) => {
        started.push(p.i);
        await sleep(500);
        finished.push(p.i);
      });
      const running = await job.enqueueMany([{ i: 1 }, { i: 2 }]);
      const worker = await f.worker({ tasks: [job], concurrency: 2 });
      await started.until(2, s.late(10_000), "started jobs");
      const closing = worker.close({ graceMs: 10_000 });
      await job.enqueue({ i: 3 });
      await closing;
      expect([...finished.items].sort()).toEqual([1, 2]);
      // Settled, as the engine keeps them, by the time close() returned: not left to a lease's expiry.
      if (caps.results) for (const handle of running) expect((await handle.refresh()).status).toBe("succeeded");
      expect(started.items).not.toContain(3);
      await worker.close(); // idempotent
      await f.worker({ tasks: [job] });
      await finished.until(3, s.late(10_000), "the job enqueued during shutdown");
      expect(finished.items).toContain(3);
      // The jobs that finished during the shutdown were settled before close() returned: they do not run again.
      await sleep(700);
      expect([...started.items].sort()).toEqual([1, 2, 3]);
    });

    // It needs two jobs of one queue running at once, on two workers: an engine that opted out of
    // the concurrency group (it runs a queue's jobs one at a time) cannot show it.
    if (s.options.optOut?.concurrency === undefined)
      s.test(
        "gracefulShutdown",
        "close() gives back at once the jobs the worker received but will not run: another worker starts them while it still finishes its own",
        async (f) => {
          const started = new Recorder<{ i: number; by: string }>();
          const hold = gate();
          const handler = (by: string) => async (p: { i: number }) => {
            started.push({ i: p.i, by });
            if (by === "closing") await hold.promise;
          };
          const job = await f.task("job", handler("closing"));
          const closingWorker = await f.worker({ tasks: [job], concurrency: 1 });
          await job.enqueueMany([{ i: 1 }, { i: 2 }, { i: 3 }]);
          await started.until(1, s.late(10_000), "the first job");
          await sleep(300); // what the engine hands a worker ahead of its free slots, it has by now
          const closing = closingWorker.close({ graceMs: 60_000 });
          const other = await f.otherBackend();
          const taken = await f.task("job", handler("other"), {}, other);
          await f.worker({ tasks: [taken], backend: other, concurrency: 5 });
          try {
            // Well before any lease or visibility timeout a crashed worker's jobs wait out.
            await started.until(3, s.late(2_500), "the jobs the closing worker did not start, on the other worker");
          } finally {
            hold.open();
            await closing;
          }
          expect(started.items.filter((run) => run.by === "closing")).toHaveLength(1);
        },
        60_000,
      );

    s.test(
      "gracefulShutdown",
      "past the grace period, jobs are aborted and delivered again",
      async (f) => {
        const attempts = new Recorder<{ attempt: number }>();
        let aborted = false;
        const job = await f.task("job", async (_: unknown, ctx) => {
          attempts.push({ attempt: ctx.attempt });
          if (attempts.length === 1) {
            ctx.signal.addEventListener("abort", () => {
              aborted = true;
            });
            await sleep(60_000);
          }
        });
        const worker = await f.worker({ tasks: [job] });
        await job.enqueue(undefined);
        await attempts.until(1, s.late(10_000), "the first delivery");
        const before = Date.now();
        await worker.close({ graceMs: 200 });
        expect(Date.now() - before).toBeLessThan(5_000);
        expect(aborted).toBe(true);
        await f.worker({ tasks: [job] });
        await attempts.until(2, s.late(60_000), "the redelivery");
      },
      90_000,
    );
  });

  s.group("crashRecovery", true, () => {
    s.test(
      "crashRecovery",
      "a job whose worker dies mid-job is delivered again",
      async (f) => {
        const deliveries = new Recorder<Delivered>();
        const job = await crashingTask(f, deliveries, 1, 1);
        const handle = await job.enqueue({ n: 7 });
        await crashDuringDeliveries(f, job, deliveries, 1);
        await f.worker({ tasks: [job], backend: await f.otherBackend() });
        const [, second] = await deliveries.until(2, s.late(60_000), "the redelivery");
        expect(second).toMatchObject({ id: handle.id, payload: { n: 7 } });
        expect(second?.attempt).toBeGreaterThanOrEqual(1);
      },
      90_000,
    );

    s.test(
      "crashRecovery",
      "a job whose worker dies twice mid-run still runs to completion while it has attempts left",
      async (f) => {
        const deliveries = new Recorder<Delivered>();
        const job = await crashingTask(f, deliveries, 2, 5);
        const handle = await job.enqueue({ n: 8 });
        await crashDuringDeliveries(f, job, deliveries, 2);
        const succeeded = new Recorder<number>();
        const failed = new Recorder<string>();
        await f.worker({
          tasks: [job],
          backend: await f.otherBackend(),
          listen: (worker) => {
            worker.on("succeeded", (e) => succeeded.push(e.attempt));
            worker.on("failed", (e) => failed.push(`${e.error.name}: ${e.error.message}`));
          },
        });
        await waitFor(() => succeeded.length + failed.length > 0, s.late(90_000), "the third delivery to settle");
        expect(failed.items).toEqual([]);
        expect(deliveries.items.map((d) => d.id)).toEqual([handle.id, handle.id, handle.id]);
        expect(deliveries.items.map((d) => d.payload)).toEqual([{ n: 8 }, { n: 8 }, { n: 8 }]);
        if (caps.crashCountsAsAttempt) {
          // Each crash used an attempt: the numbers go up, and the success is reported with the last.
          const [a = 0, b = 0, c = 0] = deliveries.items.map((d) => d.attempt);
          expect(a).toBe(1);
          expect(b).toBeGreaterThan(a);
          expect(c).toBeGreaterThan(b);
          expect(succeeded.items).toEqual([c]);
        }
        if (caps.results) expect(await handle.wait({ timeoutMs: s.late(10_000) })).toBe("done");
      },
      300_000,
    );
  });

  s.group("crashAttempts", caps.crashCountsAsAttempt, () => {
    s.test(
      "crashAttempts",
      "a redelivery after a crash reports the next attempt",
      async (f) => {
        const deliveries = new Recorder<Delivered>();
        const job = await crashingTask(f, deliveries, 1, 3);
        await job.enqueue({ n: 9 });
        await crashDuringDeliveries(f, job, deliveries, 1);
        const succeeded = new Recorder<number>();
        await f.worker({
          tasks: [job],
          backend: await f.otherBackend(),
          listen: (worker) => worker.on("succeeded", (e) => succeeded.push(e.attempt)),
        });
        await succeeded.until(1, s.late(90_000), "the redelivery to succeed");
        const [first = 0, second = 0] = deliveries.items.map((d) => d.attempt);
        expect(first).toBe(1);
        expect(second).toBeGreaterThanOrEqual(2);
        expect(succeeded.items).toEqual([second]);
      },
      200_000,
    );

    s.test(
      "crashAttempts",
      "a job whose worker dies on its last attempt runs once more; when that start dies too, it fails for good as WorkerLostError, into the dead letters",
      async (f) => {
        const deliveries = new Recorder<Delivered>();
        const job = await crashingTask(f, deliveries, 4, 2);
        const handle = await job.enqueue({ n: 10 });
        await crashDuringDeliveries(f, job, deliveries, 3);
        // The job comes back once more: a worker fails it (a `failed` event), or the engine does so
        // itself when it takes the job back.
        const failed = new Recorder<{ attempt: number; name: string }>();
        const last = await f.worker({
          tasks: [job],
          backend: await f.otherBackend(),
          listen: (worker) => worker.on("failed", (e) => failed.push({ attempt: e.attempt, name: e.error.name })),
        });
        if (caps.deadLetter) {
          const found = (letters: JobInfo[]) => letters.some((l) => l.id === handle.id);
          const letters = await readDeadLetters(last.adapter, f.queue(), found, s.late(90_000));
          const letter = letters.find((l) => l.id === handle.id);
          expect(letter?.payload).toEqual({ n: 10 });
          expect(letter?.error?.name).toBe(WorkerLostError.name);
        } else {
          await failed.until(1, s.late(90_000), "the failed event");
        }
        await sleep(500);
        // Two attempts and the extra start; no fourth run.
        expect(deliveries.items.map((d) => d.attempt)).toEqual([1, 2, 3]);
        expect(failed.items.length).toBeLessThanOrEqual(1);
        for (const event of failed.items) expect(event).toEqual({ attempt: 3, name: WorkerLostError.name });
        if (caps.results) {
          const error = await handle.wait({ timeoutMs: s.late(10_000) }).catch((e: unknown) => e);
          expect(error).toBeInstanceOf(JobFailedError);
          expect((error as JobFailedError).error?.name).toBe(WorkerLostError.name);
        }
      },
      360_000,
    );
  });

  const restart = s.options.harness?.restartServer;
  s.group("serviceRestart", restart ? true : "needs harness.restartServer", () => {
    s.test(
      "serviceRestart",
      "a server restart during a run loses no job",
      async (f) => {
        const seen = new Set<number>();
        const job = await f.task("job", async (p: { i: number }) => {
          seen.add(p.i);
          await sleep(5);
        });
        const worker = await f.worker({ tasks: [job], concurrency: 10 });
        worker.on("error", () => {}); // reported, not fatal
        const count = 1000;
        await job.enqueueMany(Array.from({ length: count / 2 }, (_, i) => ({ i })));
        await waitFor(() => seen.size > 50, s.late(30_000), "the run to be under way");
        await (restart as (testId: string) => Promise<void>)(f.testId);
        await job.enqueueMany(Array.from({ length: count / 2 }, (_, i) => ({ i: i + count / 2 })));
        await waitFor(() => seen.size === count, s.late(120_000), `all ${count} jobs (have ${seen.size})`);
      },
      240_000,
    );
  });
}
