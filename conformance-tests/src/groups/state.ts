import { JobFailedError, JobNotFoundError, type JobStatus } from "@taskport/core";
import { expect } from "vitest";
import type { SuiteContext } from "../run-conformance.ts";
import { gate, Recorder, sleep } from "../support/waiting.ts";

/** Results and status, cancel, deduplication, progress. */
export function registerState(s: SuiteContext): void {
  const caps = s.capabilities;

  s.group("results", caps.results, () => {
    s.test("results", "status moves queued → running → succeeded and wait() returns the typed result", async (f) => {
      const hold = gate();
      const running = new Recorder<void>();
      const job = await f.task("compute", async (p: { x: number }) => {
        running.push();
        await hold.promise;
        return { square: p.x * p.x, label: "ü" };
      });
      const handle = await job.enqueue({ x: 12 });
      expect(handle.status).toBe("queued");
      expect((await handle.refresh()).status).toBe("queued");
      await f.worker({ tasks: [job] });
      await running.until(1, s.late(10_000), "the job to start");
      await expect(waitForStatus(handle, "running", s.late(5_000))).resolves.toBe("running");
      hold.open();
      const result: { square: number; label: string } = await handle.wait({ timeoutMs: s.late(10_000) });
      expect(result).toEqual({ square: 144, label: "ü" });
      const info = await handle.refresh();
      expect(info).toMatchObject({
        id: handle.id,
        name: "compute",
        queue: f.queue(),
        status: "succeeded",
        result: { square: 144, label: "ü" },
        payload: { x: 12 },
        attempt: 1,
        maxAttempts: 1,
      });
    });

    s.test("results", "a job that returns nothing has a null result", async (f) => {
      const job = await f.task("nothing", async () => {});
      await f.worker({ tasks: [job] });
      const handle = await job.enqueue(undefined);
      expect(await handle.wait({ timeoutMs: s.late(10_000) })).toBeNull();
    });

    s.test("results", "a failed job's wait() rejects with its error", async (f) => {
      const job = await f.task("broken", async () => {
        throw new RangeError("out of range");
      });
      await f.worker({ tasks: [job] });
      const handle = await job.enqueue(undefined);
      const error = await handle.wait({ timeoutMs: s.late(10_000) }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(JobFailedError);
      expect((error as JobFailedError).error).toMatchObject({ name: "RangeError", message: "out of range" });
      expect(await handle.refresh()).toMatchObject({ status: "failed", attempt: 1, maxAttempts: 1 });
    });

    s.test("results", "a delayed job is reported as scheduled", async (f) => {
      const job = await f.task("later", async () => {});
      const handle = await job.enqueue(undefined, caps.delay ? { delayMs: 60_000 } : {});
      expect((await handle.refresh()).status).toBe(caps.delay ? "scheduled" : "queued");
    });

    s.test("results", "an unknown job id is reported as not found", async (f) => {
      const job = await f.task("job", async () => {});
      const real = await job.enqueue(undefined);
      const backend = await f.backend();
      expect(await backend.getJob("00000000-0000-4000-8000-000000000000", real.queue)).toBeNull();
      const { JobHandle } = await import("@taskport/core");
      const ghost = new JobHandle(backend, "00000000-0000-4000-8000-000000000000", "job", real.queue, "queued", false);
      await expect(ghost.refresh()).rejects.toBeInstanceOf(JobNotFoundError);
    });
  });

  s.group("cancel", caps.cancel, () => {
    s.test("cancel", "a queued job that is cancelled never runs", async (f) => {
      const seen = new Recorder<string>();
      const job = await f.task("job", async (p: { tag: string }) => seen.push(p.tag));
      const doomed = await job.enqueue({ tag: "cancelled" });
      await job.enqueue({ tag: "kept" });
      expect(await doomed.cancel()).toBe(true);
      await f.worker({ tasks: [job] });
      await seen.until(1, s.late(10_000), "the kept job");
      await sleep(300);
      expect(seen.items).toEqual(["kept"]);
      if (caps.results) expect((await doomed.refresh()).status).toBe("cancelled");
    });

    if (caps.delay) {
      s.test("cancel", "a delayed job that is cancelled never runs", async (f) => {
        const seen = new Recorder<string>();
        const job = await f.task("job", async (p: { tag: string }) => seen.push(p.tag));
        await f.worker({ tasks: [job] });
        // The delays leave the cancel room on a loaded machine: a cancel that came after the job
        // started would rightly let its handler run (the suite would then test a race, not cancel).
        const doomed = await job.enqueue({ tag: "cancelled" }, { delayMs: 1_500 });
        await job.enqueue({ tag: "kept" }, { delayMs: 1_600 });
        expect(await doomed.cancel()).toBe(true);
        await seen.until(1, s.late(10_000), "the kept job");
        await sleep(300);
        expect(seen.items).toEqual(["kept"]);
      });
    }

    if (caps.cancelRunning) {
      s.test(
        "cancel",
        "a running job that is cancelled has its signal aborted within a second and ends cancelled, not retried",
        async (f) => {
          const started = new Recorder<number>();
          const aborted = new Recorder<number>();
          const job = await f.task(
            "job",
            async (_: unknown, ctx) => {
              started.push(ctx.attempt);
              await new Promise<void>((resolve) => {
                ctx.signal.addEventListener("abort", () => resolve(), { once: true });
                setTimeout(resolve, 30_000);
              });
              if (ctx.signal.aborted) aborted.push(Date.now());
              ctx.signal.throwIfAborted();
            },
            { retry: { maxAttempts: 3 } },
          );
          await f.worker({ tasks: [job] });
          const handle = await job.enqueue(undefined);
          await started.until(1, s.late(10_000), "the job to start");
          await waitForStatus(handle, "running", s.late(5_000));
          const asked = Date.now();
          expect(await handle.cancel()).toBe(true);
          const [abortedAt] = await aborted.until(1, s.late(5_000), "the handler's signal to abort");
          expect((abortedAt as number) - asked).toBeLessThan(s.late(1_000));
          await expect(waitForStatus(handle, "cancelled", s.late(5_000))).resolves.toBe("cancelled");
          await sleep(500);
          expect(started.items).toEqual([1]);
          if (caps.results) await expect(handle.wait({ timeoutMs: 1_000 })).rejects.toBeInstanceOf(JobFailedError);
        },
      );
    }

    s.test("cancel", "cancelling a finished job returns false", async (f) => {
      const done = new Recorder<void>();
      const job = await f.task("job", async () => done.push());
      await f.worker({ tasks: [job] });
      const handle = await job.enqueue(undefined);
      await done.until(1, s.late(10_000), "the job");
      if (caps.results) await handle.wait({ timeoutMs: s.late(10_000) });
      else await sleep(200);
      expect(await handle.cancel()).toBe(false);
    });
  });

  s.group("deduplication", caps.deduplication !== false, () => {
    s.test("deduplication", "a second enqueue with the same key is a no-op while the first is pending", async (f) => {
      const seen = new Recorder<number>();
      const job = await f.task("job", async (p: { n: number }) => seen.push(p.n));
      const first = await job.enqueue({ n: 1 }, { deduplicationKey: "same" });
      const second = await job.enqueue({ n: 2 }, { deduplicationKey: "same" });
      await job.enqueue({ n: 3 }, { deduplicationKey: "other" });
      if (second.deduplicated) expect(second.id).toBe(first.id);
      await f.worker({ tasks: [job] });
      await seen.until(2, s.late(10_000), "jobs");
      await sleep(300);
      expect([...seen.items].sort()).toEqual([1, 3]);
    });

    s.test("deduplication", "racing enqueues with one key store one job", async (f) => {
      const seen = new Recorder<number>();
      const job = await f.task("job", async (p: { n: number }) => seen.push(p.n));
      const otherBackend = await f.otherBackend();
      const racing = Array.from({ length: 10 }, (_, n) =>
        (n % 2 === 0 ? job : job.using({ backend: otherBackend })).enqueue({ n }, { deduplicationKey: "race" }),
      );
      const handles = await Promise.all(racing);
      // An engine that tells duplicates apart flags every enqueue but the one that stored the job.
      // One that cannot tell (SQS answers a dropped duplicate exactly as a stored message) flags
      // none, as the first test allows; either way only one job may run.
      const kept = handles.filter((h) => !h.deduplicated);
      if (kept.length < handles.length) expect(kept.length).toBeLessThanOrEqual(1);
      await f.worker({ tasks: [job] });
      await seen.until(1, s.late(10_000), "the job");
      await sleep(300);
      expect(seen.length).toBe(1);
    });
  });

  if (caps.deduplication === "until-finished") registerKeyRelease(s);
  if (caps.deduplication === "window") {
    s.group("deduplication", true, () => {
      s.test("deduplication", "within its window, a key is still held after its job has finished", async (f) => {
        const seen = new Recorder<number>();
        const job = await f.task("job", async (p: { n: number }) => seen.push(p.n));
        await f.worker({ tasks: [job] });
        await job.enqueue({ n: 1 }, { deduplicationKey: "windowed" });
        await seen.until(1, s.late(10_000), "the first job");
        await sleep(300);
        await job.enqueue({ n: 2 }, { deduplicationKey: "windowed" });
        await sleep(1_000);
        expect(seen.items).toEqual([1]);
      });
    });
  }

  s.group("progress", caps.progress, () => {
    s.test("progress", "progress reported by a handler is stored and emitted", async (f) => {
      const hold = gate();
      const reported = new Recorder<void>();
      const job = await f.task("long", async (_: unknown, ctx) => {
        await ctx.progress({ done: 3, total: 10 });
        reported.push();
        await hold.promise;
      });
      const worker = await f.worker({ tasks: [job] });
      const events = new Recorder<unknown>();
      worker.on("progress", (e) => events.push(e.value));
      const handle = await job.enqueue(undefined);
      await reported.until(1, s.late(10_000), "progress");
      expect(events.items).toEqual([{ done: 3, total: 10 }]);
      if (caps.results) expect((await handle.refresh()).progress).toEqual({ done: 3, total: 10 });
      hold.open();
    });
  });
}

async function waitForStatus(
  handle: { refresh(): Promise<{ status: JobStatus }> },
  status: JobStatus,
  timeoutMs: number,
): Promise<JobStatus> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const info = await handle.refresh();
    if (info.status === status || Date.now() > deadline) return info.status;
    await sleep(20);
  }
}

/**
 * `"until-finished"`: the key is free again once its job has finished for good, however it
 * finished. Without this, a key would stay taken for good after its first job (a schedule's tick
 * or a "one sync per account at a time" lock would run once, ever).
 */
function registerKeyRelease(s: SuiteContext): void {
  const caps = s.capabilities;
  const finishes = ["succeeded", "failed for good", ...(caps.cancel ? ["cancelled"] : [])] as const;
  s.group("deduplication", true, () => {
    for (const finish of finishes) {
      s.test("deduplication", `a key is free again once its job has ${finish}`, async (f) => {
        const seen = new Recorder<number>();
        const job = await f.task("job", async (p: { n: number }) => {
          seen.push(p.n);
          if (finish === "failed for good" && p.n === 1) throw new Error("fails for good");
        });
        const first = await job.enqueue({ n: 1 }, { deduplicationKey: "lock" });
        if (finish === "cancelled") {
          expect(await first.cancel()).toBe(true);
        } else {
          await f.worker({ tasks: [job] });
          await seen.until(1, s.late(10_000), "the first job");
          if (caps.results) await first.wait({ timeoutMs: s.late(10_000) }).catch(() => {});
          else await sleep(500);
        }
        const second = await job.enqueue({ n: 2 }, { deduplicationKey: "lock" });
        expect(second.deduplicated).toBe(false);
        expect(second.id).not.toBe(first.id);
        if (finish === "cancelled") await f.worker({ tasks: [job] });
        await seen.until(finish === "cancelled" ? 1 : 2, s.late(10_000), "the second job");
        expect(seen.items).toContain(2);
      });
    }
  });
}
