import { ConfigurationError, configure, getBackend } from "@taskport/core";
import { describe, expect, it } from "vitest";
import { BeeQueueAdapter, createAdapter, parseUrlOptions } from "../src/index.ts";

function thrown(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  return undefined;
}

describe("bee-queue:// URLs", () => {
  it("reads host, port, db, credentials and taskport's options", () => {
    expect(
      parseUrlOptions(new URL("bee-queue://app:p%40ss@redis.local:6380/3?prefix=jobs&stallIntervalMs=2000&keepSucceeded=false")),
    ).toEqual({
      host: "redis.local",
      port: 6380,
      db: 3,
      user: "app",
      password: "p@ss",
      prefix: "jobs",
      stallIntervalMs: 2000,
      keepSucceeded: false,
    });
  });

  it("defaults to port 6379, db 0, and no credentials; a password alone has no user", () => {
    expect(parseUrlOptions(new URL("bee-queue://127.0.0.1"))).toEqual({ host: "127.0.0.1", port: 6379, db: 0 });
    expect(parseUrlOptions(new URL("bee-queue://:secret@127.0.0.1:6379/0"))).toEqual({
      host: "127.0.0.1",
      port: 6379,
      db: 0,
      password: "secret",
    });
  });

  it("refuses unknown options, a bad db, a bad prefix, a bad number — naming the adapter, never the password", () => {
    const cases = [
      "bee-queue://:s3cretpw@127.0.0.1/0?priority=1",
      "bee-queue://:s3cretpw@127.0.0.1/x",
      "bee-queue://:s3cretpw@127.0.0.1/0?prefix=a:b",
      "bee-queue://:s3cretpw@127.0.0.1/0?stallIntervalMs=0",
      "bee-queue://:s3cretpw@127.0.0.1/0?keepSucceeded=yes",
    ];
    for (const text of cases) {
      const error = thrown(() => createAdapter(new URL(text)));
      expect(error, text).toBeInstanceOf(ConfigurationError);
      expect((error as Error).message, text).toMatch(/^\[taskport\] \[bee-queue\] /);
      expect((error as Error).message, text).not.toContain("s3cretpw");
    }
  });

  it("refuses another scheme", () => {
    expect(() => parseUrlOptions(new URL("redis://127.0.0.1"))).toThrow(/bee-queue:\/\//);
  });

  it("keepSucceeded=false switches the results capability off", () => {
    expect(createAdapter(new URL("bee-queue://127.0.0.1?keepSucceeded=false")).capabilities.results).toBe(false);
    expect(createAdapter(new URL("bee-queue://127.0.0.1")).capabilities.results).toBe(true);
  });

  it("core loads the adapter for bee-queue:// URLs, without connecting", async () => {
    configure({ backends: { bq: "bee-queue://127.0.0.1:1/0?prefix=never_used" } });
    const backend = getBackend("bq");
    const adapter = await backend.adapter();
    expect(adapter).toBeInstanceOf(BeeQueueAdapter);
    expect(adapter.name).toBe("bee-queue");
    await adapter.close();
  });
});
