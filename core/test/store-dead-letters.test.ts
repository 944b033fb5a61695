import { afterEach, describe, expect, it } from "vitest";
import { Backend, defineTask, MemoryAdapter, MemoryStore, startWorker, type Worker, withJobStore } from "../src/index.ts";
import { asBroker } from "./support/without-features.ts";

// A job store beside an engine that keeps dead letters: redrive and discard of given ids act on
// exactly those ids that are dead letters of the queue, however many newer letters there are.
describe("a job store's redrive and discard of dead letters", () => {
  const workers: Worker[] = [];
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((worker) => worker.close()));
  });

  /** More dead letters than one listing of the store layer reads; the oldest comes last. */
  const LETTERS = 10_001;

  async function deadLetters(queue: string) {
    const store = new MemoryStore();
    const backend = new Backend(`dead-letters-${queue}`, withJobStore(asBroker(new MemoryAdapter({ retainDeadLetters: LETTERS })), store));
    const runs = new Map<number, number>();
    let healed = false;
    const task = defineTask(
      "flaky",
      async (p: { n: number }) => {
        runs.set(p.n, (runs.get(p.n) ?? 0) + 1);
        if (!healed) throw new Error("broken until healed");
        return p.n;
      },
      { queue },
    ).using({ backend });
    workers.push(await startWorker({ tasks: [task], backend, concurrency: 100 }));
    const handles = await task.enqueueMany(Array.from({ length: LETTERS }, (_, n) => ({ n })));
    await expect.poll(async () => (await backend.deadLetters(queue, LETTERS + 1)).length, { timeout: 20_000 }).toBe(LETTERS);
    const letters = await backend.deadLetters(queue, LETTERS + 1);
    const oldest = handles.find((handle) => handle.id === letters.at(-1)?.id);
    if (!oldest) throw new Error("the oldest dead letter is not one of the jobs");
    return { store, backend, task, handles, runs, oldest, heal: () => (healed = true) };
  }

  it("redrives a dead letter older than the newest listed ones: it runs once again and succeeds", async () => {
    const { backend, runs, oldest, heal } = await deadLetters("redrive-old");
    heal();
    expect(await backend.redrive("redrive-old", [oldest.id, "no-such-job"])).toBe(1);
    const n = await oldest.wait({ timeoutMs: 5_000 });
    expect((await backend.getJob(oldest.id, "redrive-old"))?.status).toBe("succeeded");
    expect((await backend.deadLetters("redrive-old", LETTERS + 1)).length).toBe(LETTERS - 1);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(runs.get(n as number)).toBe(2);
  }, 60_000);

  it("redrives all the dead letters, past one listing, each once", async () => {
    const { backend, handles, runs, heal } = await deadLetters("redrive-all");
    heal();
    expect(await backend.redrive("redrive-all")).toBe(LETTERS);
    await Promise.all(handles.map((handle) => handle.wait({ timeoutMs: 10_000 })));
    expect([...runs.values()].every((count) => count === 2)).toBe(true);
    expect(await backend.deadLetters("redrive-all", 10)).toEqual([]);
    expect(await backend.redrive("redrive-all")).toBe(0);
  }, 60_000);

  it("discards a dead letter older than the newest listed ones, and counts it", async () => {
    const { backend, store, oldest } = await deadLetters("discard-old");
    expect(await backend.discardDeadLetters("discard-old", [oldest.id, "no-such-job"])).toBe(1);
    expect(await backend.getJob(oldest.id, "discard-old")).toBeNull();
    expect(await store.get(oldest.id)).toBeNull();
    expect((await backend.deadLetters("discard-old", LETTERS + 1)).length).toBe(LETTERS - 1);
    expect(await backend.discardDeadLetters("discard-old")).toBe(LETTERS - 1);
    expect(await backend.deadLetters("discard-old", 10)).toEqual([]);
  }, 60_000);

  it("ignores ids that are not dead letters of the queue, and counts them as 0", async () => {
    const { backend, task, heal } = await deadLetters("strangers");
    const other = defineTask(
      "other",
      async () => {
        throw new Error("fails for good");
      },
      { queue: "strangers-other" },
    ).using({ backend });
    workers.push(await startWorker({ tasks: [other], backend }));
    const elsewhere = await other.enqueue(undefined);
    await expect(elsewhere.wait({ timeoutMs: 5_000 })).rejects.toThrow(/fails for good/);
    heal();
    const done = await task.enqueue({ n: -1 });
    await done.wait({ timeoutMs: 5_000 });
    const waiting = await task.enqueue({ n: -2 }, { delayMs: 60_000 });
    const strangers = [done.id, waiting.id, elsewhere.id, "no-such-job"];

    expect(await backend.redrive("strangers", strangers)).toBe(0);
    expect(await backend.discardDeadLetters("strangers", strangers)).toBe(0);
    expect((await backend.getJob(done.id, "strangers"))?.status).toBe("succeeded");
    expect((await backend.getJob(waiting.id, "strangers"))?.status).toBe("scheduled");
    expect((await backend.getJob(elsewhere.id, "strangers-other"))?.status).toBe("failed");
    expect((await backend.deadLetters("strangers-other", 10)).map((letter) => letter.id)).toEqual([elsewhere.id]);
    expect((await backend.deadLetters("strangers", LETTERS + 1)).length).toBe(LETTERS);
  }, 60_000);
});
