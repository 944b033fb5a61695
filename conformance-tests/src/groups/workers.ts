import type { Worker } from "@taskport/core";
import { expect } from "vitest";
import type { SuiteContext } from "../run-conformance.ts";
import { gate, Recorder, sleep, waitFor } from "../support/waiting.ts";

/** Concurrency, competing workers, graceful shutdown, crash recovery, service restart. */
export function registerWorkers(s: SuiteContext): void {
  const crash = (worker: Worker) => s.options.harness?.crash?.(worker) ?? (worker.consumer as NonNullable<Worker["consumer"]>).abandon();

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
        await f.worker({ tasks: [first], concurrency: 5 });
        await f.worker({ tasks: [second], concurrency: 5, backend: otherBackend });
        await first.enqueueMany(Array.from({ length: count }, (_, i) => ({ i })));
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
      await job.enqueueMany([{ i: 1 }, { i: 2 }]);
      const worker = await f.worker({ tasks: [job], concurrency: 2 });
      await started.until(2, s.late(10_000), "started jobs");
      const closing = worker.close({ graceMs: 10_000 });
      await job.enqueue({ i: 3 });
      await closing;
      expect([...finished.items].sort()).toEqual([1, 2]);
      expect(started.items).not.toContain(3);
      await worker.close(); // idempotent
      await f.worker({ tasks: [job] });
      await finished.until(3, s.late(10_000), "the job enqueued during shutdown");
      expect(finished.items).toContain(3);
      // The jobs that finished during the shutdown were settled before close() returned: they do not run again.
      await sleep(700);
      expect([...started.items].sort()).toEqual([1, 2, 3]);
    });

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
        const deliveries = new Recorder<{ id: string; attempt: number; payload: unknown }>();
        const job = await f.task("job", async (p: { n: number }, ctx) => {
          deliveries.push({ id: ctx.jobId, attempt: ctx.attempt, payload: p });
          if (deliveries.length === 1) await sleep(120_000);
        });
        const doomed = await f.worker({ tasks: [job] });
        const handle = await job.enqueue({ n: 7 });
        await deliveries.until(1, s.late(10_000), "the first delivery");
        await crash(doomed);
        const otherBackend = await f.otherBackend();
        await f.worker({ tasks: [job], backend: otherBackend });
        const [, second] = await deliveries.until(2, s.late(60_000), "the redelivery");
        expect(second).toMatchObject({ id: handle.id, payload: { n: 7 } });
        expect(second?.attempt).toBeGreaterThanOrEqual(1);
      },
      90_000,
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
