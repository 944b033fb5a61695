import { describe, expect, it } from "vitest";
import { Backend, ConfigurationError, createMemoryAdapter, defineTask, MemoryAdapter, startWorker } from "../src/index.ts";
import { DelayHeap } from "../src/memory/delay-heap.ts";
import { Deque } from "../src/memory/deque.ts";
import { ReadyQueue } from "../src/memory/ready-queue.ts";

describe("memory engine", () => {
  it("reads its options from the URL and refuses unknown ones", () => {
    expect(createMemoryAdapter(new URL("memory://?maxPayloadBytes=1000")).capabilities.maxPayloadBytes).toBe(1000);
    expect(() => createMemoryAdapter(new URL("memory://?retainFinished=-1"))).toThrow(ConfigurationError);
    expect(() => createMemoryAdapter(new URL("memory://?colour=blue"))).toThrow(/unknown option "colour"/);
  });

  it("keeps only the most recent finished jobs, so a long-running process does not grow", async () => {
    const adapter = new MemoryAdapter({ retainFinished: 5 });
    const backend = new Backend("m", adapter);
    const task = defineTask("t", async (n: number) => n).using({ backend });
    const worker = await startWorker({ tasks: [task], backend });
    const handles = await task.enqueueMany(Array.from({ length: 20 }, (_, i) => i));
    await handles.at(-1)?.wait({ timeoutMs: 2000 });
    await worker.close();
    expect(adapter.holding().jobs).toBe(5);
    await expect(handles[0]?.refresh()).rejects.toThrow(/not known to the engine/);
    expect(await handles.at(-1)?.wait()).toBe(19);
  });

  it("holds delayed jobs in one heap with one timer, whatever their number", async () => {
    const adapter = new MemoryAdapter();
    const backend = new Backend("m", adapter);
    const task = defineTask("t", async () => {}).using({ backend });
    await task.enqueueMany(
      Array.from({ length: 10_000 }, () => undefined),
      { delayMs: 3_600_000 },
    );
    expect(adapter.holding()).toEqual({ jobs: 10_000, delayed: 10_000, ready: 0 });
    const timers = process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;
    expect(timers).toBeLessThan(10);
    await adapter.close();
  });

  it("runs a delay longer than setTimeout's range (24.8 days) without firing early", async () => {
    const adapter = new MemoryAdapter();
    const backend = new Backend("m", adapter);
    const ran: number[] = [];
    const task = defineTask("t", async () => {
      ran.push(1);
    }).using({ backend });
    const worker = await startWorker({ tasks: [task], backend });
    const handle = await task.enqueue(undefined, { delayMs: 40 * 24 * 3_600_000 });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(ran).toEqual([]);
    expect((await handle.refresh()).status).toBe("scheduled");
    await worker.close();
    await adapter.close();
  });

  it("aborts a running job's signal when it is cancelled, and records it as cancelled", async () => {
    const backend = new Backend("m", new MemoryAdapter());
    let started!: () => void;
    const running = new Promise<void>((resolve) => {
      started = resolve;
    });
    const task = defineTask("long", async (_: undefined, ctx) => {
      started();
      await new Promise((resolve) => ctx.signal.addEventListener("abort", resolve));
      throw ctx.signal.reason;
    }).using({ backend });
    const worker = await startWorker({ tasks: [task], backend });
    const handle = await task.enqueue(undefined);
    await running;
    expect(await handle.cancel()).toBe(true);
    await expect(handle.wait({ timeoutMs: 2000 })).rejects.toThrow(/cancelled/);
    expect((await handle.refresh()).status).toBe("cancelled");
    await worker.close();
  });

  it("lets the process exit when only delayed jobs remain and no worker runs", async () => {
    const { execFile } = await import("node:child_process");
    const { promisify } = await import("node:util");
    const script = `
      import { defineTask } from "@taskport/core";
      const t = defineTask("later", async () => {});
      await t.enqueue(undefined, { delayMs: 3_600_000 });
      console.log("enqueued");`;
    const { stdout } = await promisify(execFile)(process.execPath, ["--conditions=@taskport/source", "--input-type=module", "-e", script], {
      timeout: 10_000,
      cwd: new URL("..", import.meta.url).pathname,
    });
    expect(stdout.trim()).toBe("enqueued");
  });
});

describe("memory engine data structures", () => {
  it("ReadyQueue: highest priority first, FIFO within a priority", () => {
    const queue = new ReadyQueue<string>();
    queue.push("a0", 0);
    queue.push("b5", 5);
    queue.push("c0", 0);
    queue.push("d-100", -100);
    queue.push("e100", 100);
    queue.push("f5", 5);
    expect(queue.topPriority).toBe(100);
    expect(Array.from({ length: 6 }, () => queue.shift())).toEqual(["e100", "b5", "f5", "a0", "c0", "d-100"]);
    expect(queue.shift()).toBeUndefined();
    expect(queue.topPriority).toBe(Number.NEGATIVE_INFINITY);
  });

  it("Deque: the order of an array under push, unshift and shift, across many blocks and when emptied", () => {
    const deque = new Deque<number>();
    const array: number[] = [];
    let next = 0;
    let seed = 7;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    for (let step = 0; step < 20_000; step++) {
      const r = random();
      // Growing on the whole (thousands held, several blocks), drained now and then.
      if (r < 0.5) {
        deque.push(next);
        array.push(next++);
      } else if (r < 0.6) {
        deque.unshift(next);
        array.unshift(next++);
      } else if (r < 0.999) {
        expect(deque.shift()).toBe(array.shift());
      } else {
        while (array.length > 0) expect(deque.shift()).toBe(array.shift());
      }
      expect(deque.length).toBe(array.length);
      expect(deque.peek()).toBe(array[0]);
    }
  });

  it("DelayHeap: pops by due time, then by sequence", () => {
    const heap = new DelayHeap<{ runAt: number; seq: number }>();
    const items = Array.from({ length: 500 }, (_, seq) => ({ runAt: Math.floor(Math.random() * 50), seq }));
    for (const item of items) heap.push(item);
    const popped: { runAt: number; seq: number }[] = [];
    for (let item = heap.pop(); item; item = heap.pop()) popped.push(item);
    expect(popped).toEqual([...items].sort((a, b) => a.runAt - b.runAt || a.seq - b.seq));
  });
});
