import { afterEach, describe, expect, it } from "vitest";
import {
  type Adapter,
  Backend,
  ConnectionError,
  closeBackends,
  configure,
  defineTask,
  getBackend,
  MemoryAdapter,
  schedule,
  startWorker,
  ValidationError,
  Worker,
} from "../src/index.ts";

// A worker on several backends (drain mode), on two in-process memory engines: the engine-free part
// of moving between engines. The end-to-end move (BullMQ to SQS) is in the CLI's drain test.

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function pair() {
  return { next: new Backend("next", new MemoryAdapter()), previous: new Backend("previous", new MemoryAdapter()) };
}

afterEach(async () => {
  await closeBackends();
});

describe("a worker on several backends", () => {
  it("runs the jobs of every backend once each, and reports them all as its events", async () => {
    const { next, previous } = pair();
    const runs = new Map<string, number>();
    const task = defineTask("job", async (p: { n: number }, ctx) => {
      runs.set(ctx.jobId, (runs.get(ctx.jobId) ?? 0) + 1);
      return p.n;
    });
    const old = await task.using({ backend: previous }).enqueueMany([{ n: 1 }, { n: 2 }, { n: 3 }]);
    const delayed = await task.using({ backend: previous }).enqueue({ n: 4 }, { delayMs: 150 });
    const worker = await startWorker({ tasks: [task], backends: [next, previous] });
    const succeeded: string[] = [];
    worker.on("succeeded", (e) => succeeded.push(e.job.id));
    const fresh = await task.using({ backend: next }).enqueueMany([{ n: 5 }, { n: 6 }]);
    const results = await Promise.all([...old, delayed, ...fresh].map((handle) => handle.wait({ timeoutMs: 5_000 })));
    expect(results).toEqual([1, 2, 3, 4, 5, 6]);
    expect([...runs.values()]).toEqual([1, 1, 1, 1, 1, 1]);
    expect(succeeded.sort()).toEqual([...old, delayed, ...fresh].map((h) => h.id).sort());
    expect(worker.backend).toBe(next);
    expect(worker.backends).toEqual([next, previous]);
    await worker.close();
    expect((await previous.stats()).map((q) => q.counts.queued ?? 0)).toEqual([0]);
  });

  it("keeps one concurrency limit over all its backends, and reaches it", async () => {
    const { next, previous } = pair();
    let running = 0;
    let most = 0;
    const task = defineTask("slow", async () => {
      most = Math.max(most, ++running);
      await sleep(40);
      running--;
    });
    const handles = [
      ...(await task.using({ backend: previous }).enqueueMany(Array(6).fill(undefined))),
      ...(await task.using({ backend: next }).enqueueMany(Array(6).fill(undefined))),
    ];
    const worker = await startWorker({ tasks: [task], backends: [next, previous], concurrency: 3 });
    await Promise.all(handles.map((handle) => handle.wait({ timeoutMs: 5_000 })));
    expect(most).toBe(3);
    await worker.close();
  });

  it("ticks its schedules on its own backend only: the one being drained gets no new jobs", async () => {
    const { next, previous } = pair();
    const task = defineTask("tick", async () => {});
    const enqueuedOn = { next: 0, previous: 0 };
    next.on("enqueued", () => enqueuedOn.next++);
    previous.on("enqueued", () => enqueuedOn.previous++);
    const ran = new Set<string>();
    const worker = await startWorker({ tasks: [task], backends: [next, previous], schedules: [schedule(task, { every: 100 })] });
    worker.on("started", (e) => ran.add(e.job.id));
    await sleep(650);
    await worker.close();
    expect(enqueuedOn.previous).toBe(0);
    expect(enqueuedOn.next).toBeGreaterThanOrEqual(4);
    expect(ran.size).toBeGreaterThanOrEqual(3);
  });

  it("takes names from configure(), which will not replace a backend while a worker drains it", async () => {
    await configure({ backends: { default: "memory://", previous: "memory://" } });
    const task = defineTask("named", async () => "ran");
    const handle = await task.using({ backend: "previous" }).enqueue(undefined);
    const worker = await startWorker({ tasks: [task], backends: ["default", "previous"] });
    expect(await handle.wait({ timeoutMs: 5_000 })).toBe("ran");
    expect(worker.backends).toEqual([getBackend("default"), getBackend("previous")]);
    expect(() => configure({ backends: { default: "memory://" } })).toThrow(/"default", "previous"/);
    await worker.close();
  });

  it("refuses a backend given twice, none at all, or backend beside backends", () => {
    const { next, previous } = pair();
    const task = defineTask("t", async () => {});
    expect(() => new Worker({ tasks: [task], backends: [next, previous, next] })).toThrow(/"next" is listed twice/);
    expect(() => new Worker({ tasks: [task], backends: [] })).toThrow(ValidationError);
    expect(() => new Worker({ tasks: [task], backend: next, backends: [previous] })).toThrow(/either backend or backends/);
  });

  it("does not start when one backend cannot be consumed: nothing runs, and the others' jobs stay queued", async () => {
    const next = new Backend("next", new MemoryAdapter());
    const memory = new MemoryAdapter();
    // An engine that refuses consumers, as one whose server is gone does after its connect timeout.
    const down: Adapter = Object.assign(Object.create(memory) as MemoryAdapter, {
      consume: async () => {
        throw new ConnectionError("down", "connection refused");
      },
    });
    const previous = new Backend("previous", down);
    let ran = 0;
    const task = defineTask("t", async () => {
      ran++;
    });
    const handle = await task.using({ backend: next }).enqueue(undefined);
    await expect(startWorker({ tasks: [task], backends: [next, previous] })).rejects.toThrow(/connection refused/);
    await sleep(100);
    expect(ran).toBe(0);
    expect((await handle.refresh()).status).toBe("queued");
    // The abandoned consumer gave the job back: a worker started later runs it.
    const worker = await startWorker({ tasks: [task], backend: next });
    await handle.wait({ timeoutMs: 5_000 });
    expect(ran).toBe(1);
    await worker.close();
  });

  it("close() gives up a consumer whose engine hangs within the backend's close bound, and lets the others finish", async () => {
    const next = new Backend("next", new MemoryAdapter());
    const memory = new MemoryAdapter();
    // An engine whose server stopped answering: neither a graceful stop nor a disconnect returns.
    const hung: Adapter = Object.assign(Object.create(memory) as MemoryAdapter, {
      consume: async () => ({ stop: () => new Promise<void>(() => {}), abandon: () => new Promise<void>(() => {}) }),
    });
    const previous = new Backend("previous", { adapter: hung, timeouts: { closeMs: 200 } });
    const task = defineTask("t", async () => {
      await sleep(300);
      return "done";
    });
    const worker = await startWorker({ tasks: [task], backends: [next, previous], graceMs: 500 });
    const errors: string[] = [];
    worker.on("error", ({ error }) => errors.push(error.message));
    const started = new Promise((resolve) => worker.on("started", resolve));
    const handle = await task.using({ backend: next }).enqueue(undefined);
    await started;
    const closing = Date.now();
    await worker.close();
    const tookMs = Date.now() - closing;
    expect(await handle.wait({ timeoutMs: 1_000 })).toBe("done");
    expect(tookMs).toBeGreaterThanOrEqual(500);
    expect(tookMs).toBeLessThan(500 + 200 + 1_000 + 300);
    expect(errors).toEqual([expect.stringMatching(/give up a worker's consumer/)]);
  });
});
