import { describe, expect, it } from "vitest";
import {
  Backend,
  ConfigurationError,
  ConnectionError,
  DEFAULT_TIMEOUTS,
  DeadlineError,
  deadline,
  defineTask,
  registerScheme,
  resolveTimeouts,
  startWorker,
  TaskportError,
  TimeoutError,
  timeoutsFromUrl,
  withTimeoutParams,
} from "../src/index.ts";
import { createMemoryAdapter } from "../src/memory/memory-adapter.ts";

describe("deadlines", () => {
  it("defaults are 10 s to connect, 30 s per call and 10 s to close; given values must be whole ms ≥ 1", () => {
    expect(DEFAULT_TIMEOUTS).toEqual({ connectMs: 10_000, operationMs: 30_000, closeMs: 10_000 });
    expect(resolveTimeouts({ operationMs: 500 }, "x")).toEqual({ connectMs: 10_000, operationMs: 500, closeMs: 10_000 });
    expect(() => resolveTimeouts({ closeMs: 0 }, "x")).toThrow(ConfigurationError);
    expect(() => resolveTimeouts({ connectMs: 2.5 }, "x")).toThrow(/timeouts\.connectMs/);
  });

  it("URL parameters set them, and a backend's timeouts fill in the ones a URL does not set", () => {
    const url = new URL("bullmq://:pw@h:1/0?connectTimeoutMs=300&closeTimeoutMs=200");
    expect(timeoutsFromUrl(url, "x")).toEqual({ connectMs: 300, closeMs: 200 });
    expect(() => timeoutsFromUrl(new URL("x://h?operationTimeoutMs=soon"), "x")).toThrow(/operationTimeoutMs/);
    const filled = withTimeoutParams(url, { connectMs: 1, operationMs: 2 });
    expect(filled.searchParams.get("connectTimeoutMs")).toBe("300");
    expect(filled.searchParams.get("operationTimeoutMs")).toBe("2");
  });

  it("a late call becomes a DeadlineError naming the call and the server, and is abandoned", async () => {
    let abandoned = false;
    const error = await deadline("x", "enqueue", "h:1", 20, new Promise(() => {}), () => {
      abandoned = true;
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeadlineError);
    expect(error).toBeInstanceOf(TaskportError);
    expect(error).not.toBeInstanceOf(ConnectionError);
    expect(error).not.toBeInstanceOf(TimeoutError);
    expect(error).toMatchObject({ code: "TASKPORT_DEADLINE", operation: "enqueue", where: "h:1", timeoutMs: 20 });
    expect((error as Error).message).toMatch(/^\[taskport\] \[x\] enqueue at h:1 got no answer within 20 ms/);
    expect(abandoned).toBe(true);
  });

  it("a backend gives its timeouts to the engine's URL; memory:// accepts and ignores them", async () => {
    let seen: URL | undefined;
    registerScheme("deadline-probe", (url) => {
      seen = url;
      return createMemoryAdapter();
    });
    const backend = new Backend("probe", { url: "deadline-probe://h/?closeTimeoutMs=5", timeouts: { operationMs: 700, closeMs: 9 } });
    await backend.adapter();
    expect(seen?.searchParams.get("operationTimeoutMs")).toBe("700");
    expect(seen?.searchParams.get("closeTimeoutMs")).toBe("5");
    await backend.close();
    const memory = new Backend("memory-timeouts", { url: "memory://", timeouts: { connectMs: 5 } });
    await expect(memory.adapter()).resolves.toBeDefined();
    await memory.close();
    expect(() => new Backend("bad", { url: "memory://", timeouts: { operationMs: -1 } })).toThrow(ConfigurationError);
  });

  it("core bounds close() of an adapter that never finishes closing", async () => {
    const adapter = createMemoryAdapter();
    adapter.close = () => new Promise<void>(() => {});
    const backend = new Backend("stuck", { adapter, timeouts: { closeMs: 10 } });
    await backend.adapter();
    await expect(backend.close()).resolves.toBeUndefined();
  });
});

describe("core's last-resort bound on a worker's start", () => {
  it("an adapter whose consume() never settles: startWorker rejects with a DeadlineError", async () => {
    const adapter = createMemoryAdapter();
    adapter.consume = () => new Promise(() => {});
    const backend = new Backend("stuck-consume", { adapter, timeouts: { connectMs: 10, operationMs: 10 } });
    const task = defineTask("stuck-consume", async () => {});
    const error = await startWorker({ tasks: [task], backend }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeadlineError);
    expect((error as Error).message).toMatch(/start a worker at memory adapter got no answer/);
    await backend.close();
  });
});
