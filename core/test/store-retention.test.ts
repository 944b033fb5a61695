import { afterEach, describe, expect, it } from "vitest";
import { Backend, defineTask, MemoryAdapter, MemoryStore, startWorker, type Worker, withJobStore } from "../src/index.ts";
import { asBroker } from "./support/without-features.ts";

// A store that gives an engine its results keeps finished jobs for the retention of the backend it
// is used through (passed at enqueue and to workers), unless the store was given its own.
describe("a job store's retention", () => {
  const workers: Worker[] = [];
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((worker) => worker.close()));
  });

  async function finished(backend: Backend): Promise<string> {
    const task = defineTask("short", async () => "ok").using({ backend });
    workers.push(await startWorker({ tasks: [task], backend }));
    const handle = await task.enqueue(undefined);
    expect(await handle.wait({ timeoutMs: 5_000 })).toBe("ok");
    return handle.id;
  }

  it("declares retention, and follows the backend's", async () => {
    const store = new MemoryStore();
    const adapter = withJobStore(asBroker(new MemoryAdapter()), store);
    expect(adapter.capabilities.retention).toBe(true);
    const backend = new Backend("store-retention", { adapter, retention: { succeededMs: 50 } });
    const id = await finished(backend);
    await expect.poll(() => store.get(id), { timeout: 2_000 }).toBeNull();
  });

  it("keeps the store's own retention when it was given one", async () => {
    const store = new MemoryStore();
    const adapter = withJobStore(asBroker(new MemoryAdapter()), store, { retention: { succeededMs: 60_000 } });
    const backend = new Backend("store-retention-own", { adapter, retention: { succeededMs: 50 } });
    const id = await finished(backend);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect((await store.get(id))?.status).toBe("succeeded");
  });
});
