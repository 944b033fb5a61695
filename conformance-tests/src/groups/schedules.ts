import { schedule } from "@taskport/core";
import { expect } from "vitest";
import type { SuiteContext } from "../run-conformance.ts";
import { Recorder, sleep, waitFor } from "../support/waiting.ts";

/**
 * Schedules: one job per tick however many workers run a schedule. Needs delays and
 * deduplication (of any meaning: every worker enqueues a tick before it is due, while its key is held).
 */
export function registerSchedules(s: SuiteContext): void {
  const caps = s.capabilities;
  s.group("schedules", caps.delay && caps.deduplication ? true : "needs delay and deduplication (a job store gives both)", () => {
    s.test(
      "schedules",
      "three workers running one one-second schedule for ten seconds: ten runs, never two for one tick",
      async (f) => {
        const runs = new Recorder<{ id: string; at: number }>();
        const job = await f.task("tick", async (_: unknown, ctx) => runs.push({ id: ctx.jobId, at: Date.now() }));
        const every = schedule(job, { every: "1s" }, undefined, { name: `${f.testId}-every-second` });
        const backends = [await f.backend(), await f.otherBackend(), await f.otherBackend()];
        const workers = await Promise.all(backends.map((backend) => f.worker({ tasks: [job], schedules: [every], backend })));
        // Ten seconds of three workers running: counted from when all have started, since a start
        // that is slow on a loaded machine is not ticks lost.
        const started = Date.now();
        await sleep(10_500);
        await Promise.all(workers.map((worker) => worker.close({ graceMs: 5_000 })));
        const ticks = runs.items.filter((r) => r.at >= started + 1_000 && r.at < started + 11_000);
        expect(new Set(runs.items.map((r) => r.id)).size).toBe(runs.length);
        expect(ticks.length).toBeGreaterThanOrEqual(9);
        expect(ticks.length).toBeLessThanOrEqual(11);
      },
      60_000,
    );

    s.test(
      "schedules",
      "a tick whose worker dies mid-run runs again elsewhere, and the ticks after it still run",
      async (f) => {
        const runs = new Recorder<{ id: string; worker: string }>();
        const make = async (worker: string) =>
          f.task(
            "tick",
            async (_: unknown, ctx) => {
              runs.push({ id: ctx.jobId, worker });
              if (worker === "doomed") await sleep(60_000);
            },
            { retry: { maxAttempts: 3 } },
          );
        const doomedTask = await make("doomed");
        const every = schedule(doomedTask, { every: "1s" }, undefined, { name: `${f.testId}-crash` });
        const doomed = await f.worker({ tasks: [doomedTask], schedules: [every] });
        await runs.until(1, s.late(10_000), "the first tick");
        const killed = runs.items[0]?.id as string;
        await (s.options.harness?.crash?.(doomed) ?? doomed.consumer?.abandon());
        const survivor = await make("survivor");
        await f.worker({
          tasks: [survivor],
          schedules: [schedule(survivor, { every: "1s" }, undefined, { name: `${f.testId}-crash` })],
          backend: await f.otherBackend(),
        });
        await waitFor(
          () => runs.items.some((r) => r.id === killed && r.worker === "survivor"),
          s.late(60_000),
          "the killed tick to run again",
        );
        const after = runs.length;
        await waitFor(() => runs.items.slice(after).some((r) => r.worker === "survivor"), s.late(10_000), "a later tick");
      },
      120_000,
    );

    s.test(
      "schedules",
      "a schedule removed from the code stops ticking",
      async (f) => {
        const runs = new Recorder<number>();
        const job = await f.task("tick", async () => runs.push(Date.now()));
        const every = schedule(job, { every: "1s" }, undefined, { name: `${f.testId}-removed` });
        const first = await f.worker({ tasks: [job], schedules: [every] });
        await runs.until(2, s.late(10_000), "two ticks");
        await first.close({ graceMs: 5_000 });
        const removedAt = Date.now();
        await f.worker({ tasks: [job] }); // the same app, deployed without the schedule
        await sleep(3_500);
        // A tick enqueued ahead of time before the removal may still run; none after it.
        expect(runs.items.filter((at) => at > removedAt + 1_500)).toEqual([]);
      },
      60_000,
    );
  });
}
