import { expect } from "vitest";
import type { SuiteContext } from "../run-conformance.ts";
import { Recorder, sleep, waitFor } from "../support/waiting.ts";

/** Retention: finished jobs are kept as long as the backend says, and no longer. */
export function registerRetention(s: SuiteContext): void {
  const caps = s.capabilities;
  s.group("retention", caps.retention === true && caps.results ? true : "needs retention and results", () => {
    s.test(
      "retention",
      "finished jobs are readable within their retention and gone past it, succeeded and failed each by its own",
      async (f) => {
        const backend = await f.backend({ retention: { succeededMs: 1_000, failedMs: 3_000 } });
        const done = new Recorder<string>();
        const job = await f.task(
          "kept",
          async (p: { fail: boolean }) => {
            if (p.fail) throw new Error("fails for good");
          },
          {},
          backend,
        );
        const worker = await f.worker({ tasks: [job], backend });
        worker.on("succeeded", (e) => done.push(e.job.id));
        worker.on("failed", (e) => done.push(e.job.id));
        const ok = await job.enqueue({ fail: false });
        const bad = await job.enqueue({ fail: true });
        await done.until(2, s.late(10_000), "both jobs to finish");
        // Each outcome is stored on its own write (pg-boss completes and fails jobs by separate
        // calls): wait for both, not for one and then assume the other.
        await waitFor(
          async () =>
            (await backend.getJob(bad.id, bad.queue))?.status === "failed" &&
            (await backend.getJob(ok.id, ok.queue))?.status === "succeeded",
          s.late(5_000),
          "both outcomes to be stored",
        );
        await sleep(1_500);
        // Engines that trim as jobs finish (BullMQ) need one more to finish.
        await job.enqueue({ fail: false });
        await done.until(3, s.late(10_000), "a later job");
        await waitFor(async () => (await backend.getJob(ok.id, ok.queue)) === null, s.late(5_000), "the succeeded job to go");
        expect((await backend.getJob(bad.id, bad.queue))?.status).toBe("failed");
        await sleep(2_000);
        await job.enqueue({ fail: true });
        await done.until(4, s.late(10_000), "another failure");
        await waitFor(async () => (await backend.getJob(bad.id, bad.queue)) === null, s.late(5_000), "the failed job to go");
      },
      60_000,
    );
  });
}
