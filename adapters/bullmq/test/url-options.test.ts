import { ConfigurationError, PRIORITY_MAX, PRIORITY_MIN } from "@taskport/core";
import { describe, expect, it } from "vitest";
import { BullMQAdapter, createAdapter, evictionProblem, parseUrlOptions } from "../src/index.ts";

describe("bullmq:// URLs", () => {
  it("reads host, port, db, credentials and options", () => {
    expect(
      parseUrlOptions(new URL("bullmq://al%40x:s%3Acret@redis.local:6380/3?prefix=app&lockDurationMs=5000&stalledIntervalMs=2000")),
    ).toEqual({
      host: "redis.local",
      port: 6380,
      db: 3,
      username: "al@x",
      password: "s:cret",
      prefix: "app",
      lockDurationMs: 5000,
      stalledIntervalMs: 2000,
    });
  });

  it("priorities=false turns BullMQ priorities off, and with them the priority capability", () => {
    const url = new URL("bullmq://127.0.0.1/0?priorities=false");
    expect(parseUrlOptions(url)).toMatchObject({ priorities: false });
    expect(createAdapter(url).capabilities.priority).toBe(false);
    expect(createAdapter(new URL("bullmq://127.0.0.1/0")).capabilities.priority).toBe(true);
  });

  it("reads connectTimeoutMs, operationTimeoutMs and closeTimeoutMs, and refuses one that is not a whole number ≥ 1", () => {
    expect(parseUrlOptions(new URL("bullmq://127.0.0.1/0?connectTimeoutMs=500&operationTimeoutMs=2000&closeTimeoutMs=300"))).toMatchObject({
      timeouts: { connectMs: 500, operationMs: 2000, closeMs: 300 },
    });
    expect(() => parseUrlOptions(new URL("bullmq://127.0.0.1/0?operationTimeoutMs=0"))).toThrow(ConfigurationError);
    expect(() => parseUrlOptions(new URL("bullmq://127.0.0.1/0?connectTimeoutMs=1.5"))).toThrow(/connectTimeoutMs/);
  });

  it("defaults port 6379 and db 0", () => {
    expect(parseUrlOptions(new URL("bullmq://127.0.0.1"))).toEqual({ host: "127.0.0.1", port: 6379, db: 0 });
  });

  it.each([
    ["bullmq://h/x", /database .* must be a whole number/],
    ["bullmq://h/0?colour=red", /unknown option "colour"/],
    ["bullmq://h/0?prefix=a:b", /prefix "a:b" is not valid/],
    ["bullmq://h/0?lockDurationMs=-1", /lockDurationMs .* whole number ≥ 1/],
    ["bullmq://h/0?priorities=no", /priorities .* must be true or false/],
    ["redis://h/0", /is not a bullmq:\/\/ URL/],
  ])("%s is a ConfigurationError saying what to do", (url, message) => {
    expect(() => parseUrlOptions(new URL(url))).toThrow(ConfigurationError);
    expect(() => parseUrlOptions(new URL(url))).toThrow(message);
  });

  it("never puts the password in an error", () => {
    const error = (() => {
      try {
        parseUrlOptions(new URL("bullmq://u:hunter2pw@h/x"));
      } catch (e) {
        return e as Error;
      }
    })();
    expect(error?.message).toMatch(/^\[taskport\] \[bullmq\] /);
    expect(error?.message).not.toContain("hunter2pw");
  });

  it("createAdapter opens no connection and names the adapter", () => {
    const adapter = createAdapter(new URL("bullmq://127.0.0.1:1/0?prefix=nowhere"));
    expect(adapter).toBeInstanceOf(BullMQAdapter);
    expect(adapter.prefix).toBe("nowhere");
    expect(adapter.name).toBe("bullmq");
  });
});

describe("check(): maxmemory-policy", () => {
  it("a policy other than noeviction is a problem that says how to fix it", () => {
    const problem = evictionProblem("# Memory\r\nused_memory:1\r\nmaxmemory_policy:allkeys-lru\r\n", "h:6379/0");
    expect(problem?.message).toMatch(/^\[taskport\] \[bullmq\] Redis at h:6379\/0 has maxmemory-policy "allkeys-lru"/);
    expect(problem?.message).toContain("CONFIG SET maxmemory-policy noeviction");
  });

  it("noeviction is fine", () => {
    expect(evictionProblem("maxmemory_policy:noeviction\r\n", "h")).toBeUndefined();
  });
});

describe("priority mapping", () => {
  it("taskport's highest priority is BullMQ's 1 (runs first) and the lowest its 201", async () => {
    const { mapPriority } = await import("@taskport/core");
    expect(mapPriority(PRIORITY_MAX, 1, 201, true)).toBe(1);
    expect(mapPriority(PRIORITY_MIN, 1, 201, true)).toBe(201);
    expect(mapPriority(0, 1, 201, true)).toBe(101);
  });
});
