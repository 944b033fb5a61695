import { describe, expect, expectTypeOf, it } from "vitest";
import {
  Backend,
  defineTask,
  type JobHandle,
  MemoryAdapter,
  type Task,
  type TaskPayload,
  type TaskResult,
  ValidationError,
} from "../src/index.ts";
import { RecordingAdapter } from "../src/testing/index.ts";

describe("defineTask", () => {
  it("infers payload and result types from the handler", () => {
    const resize = defineTask("resize", async (p: { url: string; width: number }) => ({ bytes: p.width * 2 }));
    expectTypeOf(resize).toEqualTypeOf<Task<{ url: string; width: number }, { bytes: number }>>();
    expectTypeOf<TaskPayload<typeof resize>>().toEqualTypeOf<{ url: string; width: number }>();
    expectTypeOf<TaskResult<typeof resize>>().toEqualTypeOf<{ bytes: number }>();
    expectTypeOf(resize.enqueue).parameter(0).toEqualTypeOf<{ url: string; width: number }>();
    expectTypeOf<Awaited<ReturnType<typeof resize.enqueue>>>().toEqualTypeOf<JobHandle<{ bytes: number }>>();
    expectTypeOf<Awaited<ReturnType<JobHandle<{ bytes: number }>["wait"]>>>().toEqualTypeOf<{ bytes: number }>();
    // @ts-expect-error: the payload must match the handler's parameter
    void (() => resize.enqueue({ url: 1 }));
  });

  it("a synchronous handler with no payload is a Task<undefined, R>", () => {
    const ping = defineTask("ping", () => "pong");
    expectTypeOf(ping).toEqualTypeOf<Task<undefined, string>>();
  });

  it.each([
    ["an empty name", "", /non-empty/],
    ["a blank name", "   ", /non-empty/],
    ["a name over 200 characters", "n".repeat(201), /limit is 200/],
  ])("refuses %s", (_, name, message) => {
    expect(() => defineTask(name, async () => {})).toThrow(message);
  });

  it("refuses bad task options at definition time", () => {
    expect(() => defineTask("t", async () => {}, { priority: 1000 })).toThrow(ValidationError);
    expect(() => defineTask("t", async () => {}, { timeoutMs: 0 })).toThrow(/timeoutMs/);
    expect(() => defineTask("t", async () => {}, { retry: { maxAttempts: 0 } })).toThrow(/maxAttempts/);
    expect(() => defineTask("t", "not a function" as never)).toThrow(/handler must be a function/);
  });

  it("using() returns a copy with other defaults and leaves the original alone", async () => {
    const adapter = new RecordingAdapter();
    const backend = new Backend("b", adapter);
    const base = defineTask("base", async (p: { n: number }) => p.n, { queue: "q1", priority: 1 }).using({ backend });
    const urgent = base.using({ priority: 90, queue: "q2", delayMs: 500, attempts: 4, timeoutMs: 1000 });
    await base.enqueue({ n: 1 });
    await urgent.enqueue({ n: 2 });
    await urgent.enqueue({ n: 3 }, { priority: -5 });
    const [a, b, c] = adapter.jobs;
    expect(a).toMatchObject({ queue: "q1", priority: 1, maxAttempts: 1 });
    expect(a?.runAt).toBeUndefined();
    expect(b).toMatchObject({ queue: "q2", priority: 90, maxAttempts: 4, timeoutMs: 1000 });
    expect(b?.runAt).toBeGreaterThan(Date.now());
    expect(c?.priority).toBe(-5);
    expect(Object.isFrozen(base)).toBe(true);
    expect(() => base.using({ priority: 500 })).toThrow(/priority/);
  });

  it("each job of enqueueMany gets its own id, in order", async () => {
    const adapter = new RecordingAdapter();
    const task = defineTask("many", async (_: number) => {}).using({ backend: new Backend("b", adapter) });
    const handles = await task.enqueueMany([1, 2, 3]);
    expect(handles.map((h) => h.id)).toEqual(adapter.jobs.map((j) => j.id));
    expect(adapter.jobs.map((j) => j.payload)).toEqual([1, 2, 3]);
    expect(handles[0]?.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it("a job enqueued on the memory engine keeps its payload even if the caller mutates it", async () => {
    const backend = new Backend("b", new MemoryAdapter());
    const seen: unknown[] = [];
    const task = defineTask("mut", async (p: { list: number[] }) => {
      seen.push(p);
    }).using({ backend });
    const payload = { list: [1] };
    const handle = await task.enqueue(payload);
    payload.list.push(2);
    const { startWorker } = await import("../src/index.ts");
    const worker = await startWorker({ tasks: [task], backend });
    await handle.wait({ timeoutMs: 2000 });
    await worker.close();
    expect(seen).toEqual([{ list: [1] }]);
  });
});
