import { expect } from "vitest";
import type { SuiteContext } from "../run-conformance.ts";
import { Recorder, sleep } from "../support/waiting.ts";

/** Delays (not early, not late, past the native limit), priority, FIFO. */
export function registerScheduling(s: SuiteContext): void {
  const caps = s.capabilities;

  s.group("delay", caps.delay, () => {
    s.test("delay", "a delayed job starts neither early nor late", async (f) => {
      const started = new Recorder<number>();
      const job = await f.task("later", async () => started.push(Date.now()));
      await f.worker({ tasks: [job] });
      const delayMs = 1_000;
      const before = Date.now();
      const handle = await job.enqueue(undefined, { delayMs });
      expect(handle.status).toBe("scheduled");
      const [at = 0] = await started.until(1, delayMs + s.late(10_000), "the delayed job");
      expect(at - before).toBeGreaterThanOrEqual(delayMs - 5);
      expect(at - before).toBeLessThan(delayMs + s.late(1_500));
    });

    s.test("delay", "runAt schedules for a point in time", async (f) => {
      const started = new Recorder<number>();
      const job = await f.task("later", async () => started.push(Date.now()));
      await f.worker({ tasks: [job] });
      const runAt = new Date(Date.now() + 1_000);
      await job.enqueue(undefined, { runAt });
      const [at = 0] = await started.until(1, s.late(12_000), "the scheduled job");
      expect(at).toBeGreaterThanOrEqual(runAt.getTime() - 5);
      expect(at).toBeLessThan(runAt.getTime() + s.late(1_500));
    });

    s.test(
      "delay",
      "a short delay enqueued after a long one runs first",
      async (f) => {
        const order = new Recorder<string>();
        const job = await f.task("later", async (p: { tag: string }) => order.push(p.tag));
        await f.worker({ tasks: [job] });
        await job.enqueue({ tag: "long" }, { delayMs: 4_000 });
        await job.enqueue({ tag: "short" }, { delayMs: 100 });
        await order.until(1, s.late(10_000), "the short job");
        expect(order.items).toEqual(["short"]);
        await order.until(2, s.late(15_000), "the long job");
        expect(order.items).toEqual(["short", "long"]);
      },
      30_000,
    );

    s.test("delay", "delayed jobs wait in the engine while no worker runs", async (f) => {
      const started = new Recorder<number>();
      const job = await f.task("later", async () => started.push(Date.now()));
      const before = Date.now();
      await job.enqueue(undefined, { delayMs: 600 });
      await sleep(900);
      expect(started.length).toBe(0);
      await f.worker({ tasks: [job] });
      const [at = 0] = await started.until(1, s.late(10_000), "the delayed job");
      expect(at - before).toBeGreaterThanOrEqual(600);
    });
  });

  const native = caps.maxNativeDelayMs;
  s.group("longDelay", caps.delay && native !== undefined ? true : "the engine has no native delay limit", () => {
    s.test(
      "longDelay",
      "delays past the engine's native limit are re-delayed transparently",
      async (f) => {
        const limit = 1_000;
        const backend = await f.otherBackend({ nativeDelayLimitMs: limit });
        const adapter = await backend.adapter();
        expect(adapter.capabilities.maxNativeDelayMs, "createAdapter must honour nativeDelayLimitMs").toBe(limit);
        const started = new Recorder<number>();
        const job = (await f.task("much-later", async () => started.push(Date.now()))).using({ backend });
        await f.worker({ tasks: [job], backend });
        const delayMs = 3_500;
        const before = Date.now();
        await job.enqueue(undefined, { delayMs });
        const [at = 0] = await started.until(1, delayMs + s.late(15_000), "the long-delayed job");
        expect(at - before).toBeGreaterThanOrEqual(delayMs - 5);
        expect(at - before).toBeLessThan(delayMs + s.late(3_000));
        await sleep(300);
        expect(started.length).toBe(1);
      },
      40_000,
    );
  });

  s.group("priority", caps.priority, () => {
    s.test("priority", "higher priority runs first", async (f) => {
      const order = new Recorder<number>();
      const job = await f.task("ranked", async (p: { priority: number }) => order.push(p.priority));
      const priorities = [0, -100, 50, 100, -50, 25];
      for (const priority of priorities) await job.enqueue({ priority }, { priority });
      await f.worker({ tasks: [job], concurrency: 1 });
      await order.until(priorities.length, s.late(15_000), "jobs");
      expect(order.items).toEqual([...priorities].sort((a, b) => b - a));
    });

    s.test("priority", "a task's default priority applies and a call can override it", async (f) => {
      const order = new Recorder<string>();
      const job = await f.task("ranked", async (p: { tag: string }) => order.push(p.tag), { priority: 60 });
      await job.enqueue({ tag: "task-default" });
      await job.enqueue({ tag: "low" }, { priority: -60 });
      await job.using({ priority: 100 }).enqueue({ tag: "using" });
      await f.worker({ tasks: [job], concurrency: 1 });
      await order.until(3, s.late(15_000), "jobs");
      expect(order.items).toEqual(["using", "task-default", "low"]);
    });
  });

  s.group("fifo", caps.ordering === "fifo" ? true : "the engine does not guarantee order", () => {
    s.test("fifo", "jobs of one priority start in the order they were enqueued", async (f) => {
      const order = new Recorder<number>();
      const job = await f.task("ordered", async (p: { i: number }) => order.push(p.i));
      const count = 50;
      for (let i = 0; i < count; i++) await job.enqueue({ i });
      await f.worker({ tasks: [job], concurrency: 1 });
      await order.until(count, s.late(20_000), "jobs");
      expect(order.items).toEqual(Array.from({ length: count }, (_, i) => i));
    });
  });
}
