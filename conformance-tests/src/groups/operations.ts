import { expect } from "vitest";
import type { SuiteContext } from "../run-conformance.ts";
import { gate, Recorder, sleep, waitFor } from "../support/waiting.ts";

/** Inspection and operation of queues: stats, listing jobs, redrive, discarding dead letters, pause. */
export function registerOperations(s: SuiteContext): void {
  const caps = s.capabilities;

  s.group("stats", caps.stats === true, () => {
    s.test("stats", "counts a queue's jobs per status, and how long the oldest waiting one has waited", async (f) => {
      const hold = gate();
      const started = new Recorder<number>();
      const job = await f.task("job", async (p: { n: number }) => {
        started.push(p.n);
        if (p.n === 0) await hold.promise;
      });
      const backend = await f.backend();
      const empty = (await backend.stats([f.queue()]))[0];
      expect(empty).toMatchObject({ queue: f.queue(), counts: { queued: 0 } });
      expect(empty?.oldestQueuedAgeMs).toBeUndefined();

      await job.enqueueMany([{ n: 1 }, { n: 2 }, { n: 3 }]);
      if (caps.delay) await job.enqueue({ n: 9 }, { delayMs: 60_000 });
      await sleep(50);
      const waiting = (await backend.stats([f.queue()]))[0];
      expect(waiting?.counts.queued).toBe(3);
      if (caps.delay) expect(waiting?.counts.scheduled).toBe(1);
      expect(waiting?.oldestQueuedAgeMs).toBeGreaterThanOrEqual(40);

      await job.enqueue({ n: 0 }, { priority: caps.priority ? 100 : 0 });
      await f.worker({ tasks: [job], concurrency: 1 });
      await waitFor(() => started.items.includes(0), s.late(10_000), "the held job to start");
      await waitFor(() => started.length >= (caps.priority ? 1 : 4), s.late(10_000), "the jobs before it");
      let running = (await backend.stats([f.queue()]))[0];
      const deadline = Date.now() + s.late(5_000);
      while (running?.counts.running !== 1 && Date.now() < deadline) {
        await sleep(50);
        running = (await backend.stats([f.queue()]))[0];
      }
      expect(running?.counts.running).toBe(1);
      hold.open();
      await started.until(4, s.late(10_000), "every job");
      await waitFor(async () => (await backend.stats([f.queue()]))[0]?.counts.queued === 0, s.late(10_000), "the queue to empty");
    });

    s.test("stats", "counts jobs that failed for good", async (f) => {
      const failed = new Recorder<string>();
      const job = await f.task("doomed", async () => {
        throw new Error("no");
      });
      const worker = await f.worker({ tasks: [job] });
      worker.on("failed", (e) => failed.push(e.job.id));
      await job.enqueueMany([undefined, undefined]);
      await failed.until(2, s.late(10_000), "failures");
      const backend = await f.backend();
      await waitFor(async () => (await backend.stats([f.queue()]))[0]?.counts.failed === 2, s.late(10_000), "2 failed jobs counted");
    });
  });

  s.group("listJobs", caps.listJobs === true, () => {
    s.test("listJobs", "lists a queue's jobs newest first, a page at a time, by status", async (f) => {
      const job = await f.task("job", async () => {});
      const handles = [];
      for (let i = 0; i < 5; i++) handles.push(await job.enqueue({ i }));
      const backend = await f.backend();
      const seen: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page = await backend.jobs(f.queue(), { limit: 2, ...(cursor ? { cursor } : {}) });
        expect(page.jobs.length).toBeLessThanOrEqual(2);
        seen.push(...page.jobs.map((j) => j.id));
        cursor = page.cursor;
        pages++;
      } while (cursor && pages < 10);
      expect(seen).toEqual(handles.map((h) => h.id).reverse());
      const queued = await backend.jobs(f.queue(), { status: "queued", limit: 10 });
      expect(queued.jobs).toHaveLength(5);
      expect(queued.jobs[0]).toMatchObject({ id: handles[4]?.id, name: "job", status: "queued", payload: { i: 4 } });
      expect((await backend.jobs(f.queue(), { status: "running", limit: 10 })).jobs).toEqual([]);
    });
  });

  s.group("redrive", caps.redrive === true && caps.deadLetter ? true : "needs deadLetter and redrive", () => {
    s.test("redrive", "redriven dead letters run again with their attempts starting over, and leave the dead letters", async (f) => {
      const runs = new Recorder<{ n: number; attempt: number }>();
      let healed = false;
      const job = await f.task("flaky", async (p: { n: number }, ctx) => {
        runs.push({ n: p.n, attempt: ctx.attempt });
        if (!healed) throw new Error("broken until healed");
      });
      const worker = await f.worker({ tasks: [job] });
      const failed = new Recorder<string>();
      worker.on("failed", (e) => failed.push(e.job.id));
      const [first, second] = [await job.enqueue({ n: 1 }), await job.enqueue({ n: 2 })];
      await failed.until(2, s.late(10_000), "both jobs to fail");
      const backend = await f.backend();
      await waitFor(async () => (await backend.deadLetters(f.queue(), 10)).length === 2, s.late(10_000), "2 dead letters");
      healed = true;
      expect(await backend.redrive(f.queue(), [first?.id as string])).toBe(1);
      await waitFor(() => runs.items.filter((r) => r.n === 1).length === 2, s.late(10_000), "the redriven job to run");
      expect(runs.items.filter((r) => r.n === 1).map((r) => r.attempt)).toEqual([1, 1]);
      await waitFor(async () => (await backend.deadLetters(f.queue(), 10)).length === 1, s.late(10_000), "1 dead letter left");
      expect((await backend.deadLetters(f.queue(), 10))[0]?.id).toBe(second?.id);
      expect(await backend.redrive(f.queue())).toBe(1);
      await waitFor(() => runs.items.filter((r) => r.n === 2).length === 2, s.late(10_000), "the second job to run");
      if (caps.results) expect(await first?.wait({ timeoutMs: s.late(10_000) })).toBeNull();
    });
  });

  const discards = caps.discardDeadLetters === true && caps.deadLetter ? true : "needs deadLetter and discardDeadLetters";
  s.group("discardDeadLetters", discards, () => {
    s.test("discardDeadLetters", "discarded dead letters leave the dead letters for good: counted, never run, not redriven", async (f) => {
      const runs = new Recorder<number>();
      const job = await f.task("doomed", async (p: { n: number }) => {
        runs.push(p.n);
        throw new Error("fails for good");
      });
      const worker = await f.worker({ tasks: [job] });
      const failed = new Recorder<string>();
      worker.on("failed", (e) => failed.push(e.job.id));
      const [first, second, third] = [await job.enqueue({ n: 1 }), await job.enqueue({ n: 2 }), await job.enqueue({ n: 3 })];
      await failed.until(3, s.late(10_000), "the jobs to fail");
      const backend = await f.backend();
      const letters = async () => (await backend.deadLetters(f.queue(), 10)).map((letter) => letter.id).sort();
      await waitFor(async () => (await letters()).length === 3, s.late(10_000), "3 dead letters");
      // A job that is not a dead letter (here one waiting its turn) is neither counted nor touched.
      const waiting = caps.delay ? await job.enqueue({ n: 9 }, { delayMs: 60_000 }) : undefined;
      const strangers = waiting ? [waiting.id, "no-such-job"] : ["no-such-job"];

      expect(await backend.discardDeadLetters(f.queue(), [first?.id as string, ...strangers])).toBe(1);
      const rest = [second?.id as string, third?.id as string].sort();
      await waitFor(async () => (await letters()).join() === rest.join(), s.late(10_000), "the other 2 dead letters left");
      if (caps.results) expect(await backend.getJob(first?.id as string, f.queue())).toBeNull();
      if (caps.results && waiting) expect(await backend.getJob(waiting.id, f.queue())).not.toBeNull();
      if (caps.redrive) expect(await backend.redrive(f.queue(), [first?.id as string])).toBe(0);

      expect(await backend.discardDeadLetters(f.queue())).toBe(2);
      await waitFor(async () => (await letters()).length === 0, s.late(10_000), "no dead letter left");
      if (caps.redrive) expect(await backend.redrive(f.queue())).toBe(0);
      expect(await backend.discardDeadLetters(f.queue())).toBe(0);
      await sleep(s.late(300));
      expect([...runs.items].sort()).toEqual([1, 2, 3]);
    });
  });

  s.group("pause", caps.pause === true, () => {
    s.test("pause", "workers in every process take no job from a paused queue until it is resumed", async (f) => {
      const seen = new Recorder<number>();
      const job = await f.task("job", async (p: { n: number }) => seen.push(p.n));
      const backend = await f.backend();
      await backend.pause(f.queue());
      const other = await f.otherBackend();
      await f.worker({ tasks: [job], backend: other });
      await job.enqueueMany([{ n: 1 }, { n: 2 }]);
      await sleep(s.late(1_000));
      expect(seen.items).toEqual([]);
      if (caps.stats) expect((await backend.stats([f.queue()]))[0]).toMatchObject({ paused: true, counts: { queued: 2 } });
      await backend.resume(f.queue());
      await seen.until(2, s.late(10_000), "jobs after resume");
      expect([...seen.items].sort()).toEqual([1, 2]);
    });
  });
}
