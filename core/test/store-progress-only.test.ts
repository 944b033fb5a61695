import { afterEach, describe, expect, it } from "vitest";
import { Backend, defineTask, MemoryAdapter, MemoryStore, startWorker, type Worker, withJobStore } from "../src/index.ts";
import { asBroker } from "./support/without-features.ts";

// An engine that keeps its jobs itself and lacks only progress (as pg-boss): the store holds a
// record only of a job that reports progress, and that record ends with the job, so retention
// removes it.
describe("a job store that gives an engine progress alone", () => {
  const workers: Worker[] = [];
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((worker) => worker.close()));
  });

  async function setup() {
    const store = new MemoryStore();
    const backend = new Backend("progress-only", withJobStore(asBroker(new MemoryAdapter(), { onlyProgress: true }), store));
    return { store, backend };
  }

  it("keeps a reported progress readable through the handle, and settles the record when the job ends", async () => {
    const { store, backend } = await setup();
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let reported!: () => void;
    const hasReported = new Promise<void>((resolve) => {
      reported = resolve;
    });
    const task = defineTask("long", async (_: null, ctx) => {
      await ctx.progress({ step: 1 });
      await ctx.progress({ step: 2 });
      reported();
      await held;
      return "done";
    }).using({ backend });
    workers.push(await startWorker({ tasks: [task], backend }));
    const handle = await task.enqueue(null);
    try {
      await hasReported;
      expect(await handle.refresh()).toMatchObject({ status: "running", progress: { step: 2 } });
    } finally {
      release();
    }
    expect(await handle.wait({ timeoutMs: 5_000 })).toBe("done");
    await expect.poll(async () => (await store.get(handle.id))?.status).toBe("succeeded");
    expect(await store.sweep({ succeededMs: -1, failedMs: -1 })).toBe(1);
    expect(await store.get(handle.id)).toBeNull();
  });

  it("writes nothing to the store for a job that reports no progress", async () => {
    const { store, backend } = await setup();
    const task = defineTask("quiet", async () => "ok").using({ backend });
    workers.push(await startWorker({ tasks: [task], backend }));
    const handle = await task.enqueue(undefined);
    expect(await handle.wait({ timeoutMs: 5_000 })).toBe("ok");
    expect(await store.get(handle.id)).toBeNull();
  });
});
