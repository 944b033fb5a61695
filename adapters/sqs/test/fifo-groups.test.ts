import { gate, Recorder, sleep, waitFor } from "@taskport/conformance";
import { Backend, defineTask } from "@taskport/core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { SqsAdapter } from "../src/index.ts";
import { Emulator, TestScope } from "./support.ts";

const emulator = new Emulator();
const scope = new TestScope(emulator, true);

beforeAll(() => emulator.start());
afterAll(() => emulator.stop());
afterEach(() => scope.cleanup());

/** A FIFO adapter whose message group comes from the payload's `group`, as an app would group by customer. */
function fifoAdapter(): SqsAdapter {
  return scope.adapter({ messageGroupId: (job) => String((job.payload as { group?: string } | null)?.group ?? job.queue) });
}

describe("sqs FIFO queues", () => {
  it("runs jobs of different message groups at once, each group in order", async () => {
    const queue = scope.queue();
    const backend = new Backend("fifo", fifoAdapter());
    const hold = gate();
    let active = 0;
    let peak = 0;
    const order = new Recorder<string>();
    const job = defineTask(
      "grouped",
      async (p: { group: string; i: number }) => {
        order.push(`${p.group}${p.i}`);
        active++;
        peak = Math.max(peak, active);
        await hold.promise;
        active--;
      },
      { queue },
    ).using({ backend });
    // One bulk call of 30 jobs: three chunks, which must reach SQS in order.
    const payloads = Array.from({ length: 30 }, (_, n) => ({ group: "abc"[n % 3] as string, i: Math.floor(n / 3) }));
    await job.enqueueMany(payloads);
    await scope.worker({ tasks: [job], concurrency: 3, backend });
    await waitFor(() => active === 3, 10_000, "one job of each group running at once");
    hold.open();
    await order.until(30, 20_000, "jobs");
    expect(peak).toBe(3);
    for (const group of ["a", "b", "c"]) {
      expect(order.items.filter((tag) => tag.startsWith(group))).toEqual(Array.from({ length: 10 }, (_, i) => `${group}${i}`));
    }
  });

  it("drops a second enqueue with the same deduplication key, also from another process", async () => {
    const queue = scope.queue();
    const first = new Backend("first", fifoAdapter());
    const second = new Backend("second", fifoAdapter());
    const seen = new Recorder<number>();
    const job = defineTask("dedup", async (p: { n: number }) => seen.push(p.n), { queue });
    await Promise.all(
      Array.from({ length: 10 }, (_, n) =>
        job.using({ backend: n % 2 === 0 ? first : second }).enqueue({ n }, { deduplicationKey: "same" }),
      ),
    );
    await job.using({ backend: first }).enqueue({ n: 99 }, { deduplicationKey: "other" });
    await scope.worker({ tasks: [job], backend: first });
    await seen.until(2, 10_000, "jobs");
    await sleep(500);
    expect(seen.length).toBe(2);
    expect(seen.items).toContain(99);
  });

  it("holds a delayed job outside its group, then runs it once due, as its first attempt", async () => {
    const queue = scope.queue();
    const backend = new Backend("delayed", scope.adapter({ maxNativeDelayMs: 1_000 }));
    const seen = new Recorder<{ tag: string; attempt: number; at: number }>();
    const job = defineTask("later", async (p: { tag: string }, ctx) => seen.push({ tag: p.tag, attempt: ctx.attempt, at: Date.now() }), {
      queue,
    }).using({ backend });
    await scope.worker({ tasks: [job], backend, concurrency: 1 });
    const before = Date.now();
    await job.enqueue({ tag: "later" }, { delayMs: 2_500 });
    // Its queue's group is not held up by the waiting job.
    await job.enqueue({ tag: "now" });
    await seen.until(2, 15_000, "both jobs");
    expect(seen.items.map((s) => s.tag)).toEqual(["now", "later"]);
    expect(seen.items[1]?.attempt).toBe(1);
    expect((seen.items[1]?.at ?? 0) - before).toBeGreaterThanOrEqual(2_495);
  });

  it("turns a deduplication key SQS cannot take (too long, not ASCII) into one it can", async () => {
    const queue = scope.queue();
    const backend = new Backend("keys", fifoAdapter());
    const seen = new Recorder<number>();
    const job = defineTask("dedup", async (p: { n: number }) => seen.push(p.n), { queue }).using({ backend });
    const key = `ключ ${"x".repeat(200)}`;
    await job.enqueue({ n: 1 }, { deduplicationKey: key });
    await job.enqueue({ n: 2 }, { deduplicationKey: key });
    await scope.worker({ tasks: [job], backend });
    await seen.until(1, 10_000, "the job");
    await sleep(500);
    expect(seen.items).toEqual([1]);
  });
});
