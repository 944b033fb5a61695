import { describe, expect, it } from "vitest";
import { Wakeup } from "../src/index.ts";

describe("Wakeup", () => {
  it("wakes every waiter at notify(), and a timed wait on its own when its time has passed", async () => {
    const wakeup = new Wakeup();
    const woken: string[] = [];
    const a = wakeup.wait().then(() => woken.push("a"));
    const b = wakeup.wait(60_000).then(() => woken.push("b"));
    await Promise.resolve();
    expect(woken).toEqual([]);
    wakeup.notify();
    await Promise.all([a, b]);
    expect(woken.sort()).toEqual(["a", "b"]);
    const started = Date.now();
    await wakeup.wait(20);
    expect(Date.now() - started).toBeGreaterThanOrEqual(15);
  });

  it("notifySoon() wakes once, after the current turn, however often it is called", async () => {
    const wakeup = new Wakeup();
    let woken = 0;
    const waiting = wakeup.wait().then(() => woken++);
    wakeup.notifySoon();
    wakeup.notifySoon();
    await Promise.resolve();
    expect(woken).toBe(0);
    await waiting;
    expect(woken).toBe(1);
  });
});
