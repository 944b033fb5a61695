import { describe, expect, it } from "vitest";
import { Backend, ConnectionError, defineTask, MemoryAdapter, MemoryStore, startWorker, withJobStore } from "../src/index.ts";
import { asBroker } from "./support/without-features.ts";

/** A memory store whose first `watch` fails, as a store that is down for a moment does. */
class BrieflyDownStore extends MemoryStore {
  failures = 1;

  override async watch(listener: Parameters<MemoryStore["watch"]>[0]): Promise<() => Promise<void>> {
    if (this.failures-- > 0) throw new ConnectionError("memory-store", "down for a moment");
    return super.watch(listener);
  }
}

describe("a job store that is down when a worker starts", () => {
  it("fails that start with the store's error, and a later start on the same backend works", async () => {
    const backend = new Backend("briefly-down", withJobStore(asBroker(new MemoryAdapter()), new BrieflyDownStore()));
    const task = defineTask("job", async () => "ran").using({ backend });
    await expect(startWorker({ tasks: [task], backend })).rejects.toBeInstanceOf(ConnectionError);
    const worker = await startWorker({ tasks: [task], backend });
    try {
      expect(await (await task.enqueue(undefined)).wait({ timeoutMs: 5_000 })).toBe("ran");
    } finally {
      await worker.close();
      await backend.close();
    }
  });
});
