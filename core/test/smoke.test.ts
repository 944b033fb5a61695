import { describe, expect, it } from "vitest";
import { Backend, defineTask, MemoryAdapter, startWorker } from "../src/index.ts";

describe("smoke", () => {
  it("runs a job", async () => {
    const backend = new Backend("t", new MemoryAdapter());
    const add = defineTask("add", async (p: { a: number; b: number }) => p.a + p.b).using({ backend });
    const worker = await startWorker({ tasks: [add], backend });
    const job = await add.enqueue({ a: 1, b: 2 });
    expect(await job.wait({ timeoutMs: 1000 })).toBe(3);
    await worker.close();
  });
});
