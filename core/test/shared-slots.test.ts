import { describe, expect, it } from "vitest";
import { SharedSlots } from "../src/index.ts";

describe("SharedSlots", () => {
  it("grants up to its size at once, then hands released slots to waiters in arrival order", async () => {
    const slots = new SharedSlots(2);
    expect(await slots.acquire()).toBe(true);
    expect(await slots.acquire()).toBe(true);
    const order: string[] = [];
    const first = slots.acquire().then((granted) => order.push(`first:${granted}`));
    const second = slots.acquire().then((granted) => order.push(`second:${granted}`));
    await Promise.resolve();
    expect(order).toEqual([]);
    slots.release();
    await first;
    expect(order).toEqual(["first:true"]);
    slots.release();
    await second;
    expect(order).toEqual(["first:true", "second:true"]);
  });

  it("a released slot with nobody waiting is granted to the next acquire", async () => {
    const slots = new SharedSlots(1);
    expect(await slots.acquire()).toBe(true);
    slots.release();
    expect(await slots.acquire()).toBe(true);
    let granted: boolean | undefined;
    void slots.acquire().then((g) => {
      granted = g;
    });
    await Promise.resolve();
    expect(granted).toBeUndefined();
  });

  it("tryAcquire() takes a free slot synchronously and never queues", async () => {
    const slots = new SharedSlots(1);
    expect(slots.tryAcquire()).toBe(true);
    expect(slots.tryAcquire()).toBe(false);
    const waiting = slots.acquire();
    slots.release();
    expect(await waiting).toBe(true);
    expect(slots.tryAcquire()).toBe(false);
    slots.release();
    slots.close();
    expect(slots.tryAcquire()).toBe(false);
  });

  it("close() answers waiters and later acquisitions with false", async () => {
    const slots = new SharedSlots(1);
    expect(await slots.acquire()).toBe(true);
    const waiting = slots.acquire();
    slots.close();
    expect(await waiting).toBe(false);
    slots.release();
    expect(await slots.acquire()).toBe(false);
  });
});
