import { describe, expect, it } from "vitest";
import { defineTask, schedule, tickJobId, tickKey, ValidationError } from "../src/index.ts";

const task = defineTask("report", async (p: { scope: string }) => p.scope);

describe("schedule()", () => {
  it("ticks of an interval are whole multiples of it since the epoch, the same in every process", () => {
    const every = schedule(task, { every: "30s" }, { scope: "all" });
    expect(every.nextAfter(Date.UTC(2026, 0, 1, 12, 0, 10))).toBe(Date.UTC(2026, 0, 1, 12, 0, 30));
    expect(every.nextAfter(Date.UTC(2026, 0, 1, 12, 0, 30))).toBe(Date.UTC(2026, 0, 1, 12, 1, 0));
    expect(every.between(Date.UTC(2026, 0, 1, 12, 0, 0), Date.UTC(2026, 0, 1, 12, 5, 0), 3)).toEqual([
      Date.UTC(2026, 0, 1, 12, 4, 0),
      Date.UTC(2026, 0, 1, 12, 4, 30),
      Date.UTC(2026, 0, 1, 12, 5, 0),
    ]);
    expect(schedule(task, { every: 1_500 }, { scope: "x" }).nextAfter(1_000)).toBe(1_500);
  });

  it("reads cron expressions in a time zone, across daylight saving time", () => {
    const nightly = schedule(task, "30 2 * * *", { scope: "all" }, { tz: "Europe/Paris" });
    expect(new Date(nightly.nextAfter(Date.UTC(2026, 2, 27, 12)) as number).toISOString()).toBe("2026-03-28T01:30:00.000Z");
    // Paris goes from UTC+1 to UTC+2 on 29 March 2026: 02:30 does not exist that night, and the
    // tick runs once, at 03:00 local, the first time that does; it is not skipped, nor run twice.
    expect(new Date(nightly.nextAfter(Date.UTC(2026, 2, 28, 12)) as number).toISOString()).toBe("2026-03-29T01:00:00.000Z");
    expect(new Date(nightly.nextAfter(Date.UTC(2026, 2, 29, 1)) as number).toISOString()).toBe("2026-03-30T00:30:00.000Z");
    expect(new Date(nightly.nextAfter(Date.UTC(2026, 5, 1, 12)) as number).toISOString()).toBe("2026-06-02T00:30:00.000Z");
    const utc = schedule(task, "0 */6 * * *", { scope: "x" });
    expect(utc.nextAfter(Date.UTC(2026, 0, 1, 7))).toBe(Date.UTC(2026, 0, 1, 12));
  });

  it("refuses what it cannot run, with a clear error", () => {
    expect(() => schedule(task, "not cron", { scope: "x" })).toThrow(ValidationError);
    expect(() => schedule(task, "not cron", { scope: "x" })).toThrow(/not a cron expression/);
    expect(() => schedule(task, { every: "soon" }, { scope: "x" })).toThrow(/every must be/);
    expect(() => schedule(task, { every: 10 }, { scope: "x" })).toThrow(/≥ 100/);
    expect(() => schedule(task, { every: "1m" }, { scope: "x" }, { catchUp: -1 })).toThrow(/catchUp/);
    expect(() => schedule(task, "* * * * *", { scope: new Date() as unknown as string })).toThrow(/Date/);
  });

  it("names each tick's job and key the same way in every process", () => {
    const id = tickJobId("nightly", Date.UTC(2026, 0, 1));
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(tickJobId("nightly", Date.UTC(2026, 0, 1))).toBe(id);
    expect(tickJobId("nightly", Date.UTC(2026, 0, 2))).not.toBe(id);
    expect(tickJobId("hourly", Date.UTC(2026, 0, 1))).not.toBe(id);
    expect(tickKey("nightly", Date.UTC(2026, 0, 1))).toBe("schedule:nightly:2026-01-01T00:00:00.000Z");
  });
});
