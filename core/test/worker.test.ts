import { describe, expect, it } from "vitest";
import {
  type Adapter,
  ALL_CAPABILITIES,
  Backend,
  type Delivery,
  defineTask,
  MemoryAdapter,
  type Settlement,
  startWorker,
  ValidationError,
  Worker,
} from "../src/index.ts";

const backend = () => new Backend("w", new MemoryAdapter());

describe("Worker", () => {
  it("refuses bad options", () => {
    const task = defineTask("t", async () => {});
    expect(() => new Worker({ tasks: [], backend: backend() })).toThrow(/at least one task/);
    expect(() => new Worker({ tasks: [task], concurrency: 0, backend: backend() })).toThrow(/concurrency/);
    expect(() => new Worker({ tasks: [task], graceMs: -1, backend: backend() })).toThrow(/graceMs/);
    expect(() => new Worker({ tasks: [task], queues: ["bad queue"], backend: backend() })).toThrow(ValidationError);
  });

  it("refuses two different tasks with one name", () => {
    const a = defineTask("same", async () => 1);
    const b = defineTask("same", async () => 2);
    expect(() => new Worker({ tasks: [a, b], backend: backend() })).toThrow(/two different tasks are named "same"/);
    expect(() => new Worker({ tasks: [a, a.using({ queue: "other" })], backend: backend() })).not.toThrow();
  });

  it("consumes the queues its tasks are defined on, by default", () => {
    const a = defineTask("a", async () => {}, { queue: "emails" });
    const b = defineTask("b", async () => {});
    expect(new Worker({ tasks: [a, b], backend: backend() }).queues).toEqual(["emails", "default"]);
  });

  it("runs only the handlers it was given: a job's name cannot reach anything else", async () => {
    const b = backend();
    const known = defineTask("known", async () => "ran").using({ backend: b });
    const worker = await startWorker({ tasks: [known], backend: b });
    const failures: string[] = [];
    worker.on("failed", (e) => failures.push(`${e.job.name}:${e.error.name}`));
    for (const name of ["__proto__", "constructor", "toString", "hasOwnProperty"]) {
      const handle = await defineTask(name, async () => "should not run")
        .using({ backend: b })
        .enqueue(undefined);
      await handle.wait({ timeoutMs: 2000 }).catch(() => {});
    }
    expect(failures).toEqual(["__proto__", "constructor", "toString", "hasOwnProperty"].map((n) => `${n}:UnknownTaskError`));
    await worker.close();
  });

  it("close() is idempotent and every call waits for the same shutdown", async () => {
    const b = backend();
    const task = defineTask("t", async () => {}).using({ backend: b });
    const worker = await startWorker({ tasks: [task], backend: b });
    const first = worker.close();
    const second = worker.close();
    await Promise.all([first, second]);
    await worker.close();
    expect(worker.active).toBe(0);
  });

  it("a listener that throws does not break the job; it is reported as an error event", async () => {
    const b = backend();
    const task = defineTask("t", async () => 1).using({ backend: b });
    const worker = await startWorker({ tasks: [task], backend: b });
    const errors: unknown[] = [];
    worker.on("error", (e) => errors.push(e.error));
    worker.on("started", () => {
      throw new Error("listener bug");
    });
    const handle = await task.enqueue(undefined);
    expect(await handle.wait({ timeoutMs: 2000 })).toBe(1);
    expect(errors).toHaveLength(1);
    await worker.close();
  });

  it("reports an adapter's out-of-job problems as error events, or on stderr when nobody listens", async () => {
    const memory = new MemoryAdapter();
    let report: ((error: Error) => void) | undefined;
    const flaky: typeof memory = Object.assign(Object.create(memory), {
      consume: (options: Parameters<MemoryAdapter["consume"]>[0], handler: Parameters<MemoryAdapter["consume"]>[1]) => {
        report = options.onError;
        return memory.consume(options, handler);
      },
    });
    const b = new Backend("w", flaky);
    const task = defineTask("t", async () => {}).using({ backend: b });
    const worker = await startWorker({ tasks: [task], backend: b });
    const errors: string[] = [];
    const off = worker.on("error", (e) => errors.push(e.error.message));
    report?.(new Error("connection lost; reconnecting"));
    expect(errors).toEqual(["connection lost; reconnecting"]);
    off();
    const written: string[] = [];
    const original = process.stderr.write;
    process.stderr.write = ((line: string) => written.push(line) > 0) as typeof process.stderr.write;
    try {
      report?.(new Error("still down"));
    } finally {
      process.stderr.write = original;
    }
    expect(written).toEqual(["[taskport] worker on default: still down\n"]);
    await worker.close();
  });

  describe("a handler that ignores its signal past its timeout", () => {
    const stubborn = (b: Backend, ms: number, log: string[]) =>
      defineTask(
        "stubborn",
        async (p: { i: number }) => {
          log.push(`start ${p.i}`);
          await new Promise((resolve) => setTimeout(resolve, ms));
          log.push(`end ${p.i}`);
        },
        { timeoutMs: 20 },
      ).using({ backend: b });

    it("counts as active until it ends, and close() waits for it within the grace period", async () => {
      const b = backend();
      const log: string[] = [];
      const task = stubborn(b, 150, log);
      const worker = await startWorker({ tasks: [task], backend: b, concurrency: 1 });
      worker.on("error", () => {});
      const failed = new Promise((resolve) => worker.on("failed", resolve));
      await task.enqueue({ i: 1 });
      await failed;
      expect(worker.active).toBe(1);
      await worker.close({ graceMs: 5_000 });
      expect(log).toEqual(["start 1", "end 1"]);
      expect(worker.active).toBe(0);
    });

    it("a job waiting for its slot does not start once close() gives up, and is delivered again", async () => {
      const b = backend();
      const log: string[] = [];
      const task = stubborn(b, 300, log);
      const worker = await startWorker({ tasks: [task], backend: b, concurrency: 1 });
      worker.on("error", () => {});
      const failed = new Promise((resolve) => worker.on("failed", resolve));
      const [, second] = await task.enqueueMany([{ i: 1 }, { i: 2 }]);
      await failed;
      await worker.close({ graceMs: 50 });
      await new Promise((resolve) => setTimeout(resolve, 400));
      expect(log).toEqual(["start 1", "end 1"]);
      expect((await second?.refresh())?.status).toBe("queued");
    });
  });

  it("a crashed last attempt gets one extra start; a delivery past that fails for good as WorkerLostError, without running", async () => {
    // An engine that counts crashes delivers a job of two attempts a third time after its second
    // crashed (the extra start), and a fourth time after that one crashed too.
    const deliveries: Delivery[] = [3, 4].map((attempt) => ({
      id: `j${attempt}`,
      name: "t",
      queue: "default",
      payload: null,
      attempt,
      maxAttempts: 2,
    }));
    const settlements: Settlement[] = [];
    let delivered: Promise<void> | undefined;
    const adapter: Adapter = {
      name: "counting",
      capabilities: ALL_CAPABILITIES,
      enqueue: async () => [],
      consume: async (_options, handler) => {
        delivered = (async () => {
          await new Promise((resolve) => setImmediate(resolve));
          for (const delivery of deliveries) settlements.push(await handler(delivery));
        })();
        return { stop: async () => {}, abandon: async () => {} };
      },
      close: async () => {},
    };
    const b = new Backend("w", adapter);
    const ran: string[] = [];
    const task = defineTask("t", async (_: null, ctx) => {
      ran.push(`${ctx.jobId}:${ctx.attempt}`);
    }).using({ backend: b });
    const failed: { attempt: number; name: string; message: string }[] = [];
    const worker = new Worker({ tasks: [task], backend: b });
    worker.on("failed", (e) => failed.push({ attempt: e.attempt, name: e.error.name, message: e.error.message }));
    await worker.start();
    await delivered;
    expect(ran).toEqual(["j3:3"]);
    expect(settlements[0]).toMatchObject({ status: "succeeded" });
    expect(settlements[1]).toMatchObject({ status: "failed", error: { name: "WorkerLostError" } });
    expect("retryInMs" in (settlements[1] as Settlement)).toBe(false); // for good: no retry
    expect(failed).toEqual([
      {
        attempt: 3,
        name: "WorkerLostError",
        message: expect.stringMatching(/^\[taskport\] \[counting\] .*last attempt \(2 of 2\) and on the extra start/),
      },
    ]);
    await worker.close();
  });
});
