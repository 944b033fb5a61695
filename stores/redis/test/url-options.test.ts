import { ConfigurationError, createStoreFromUrl } from "@taskport/core";
import { describe, expect, it } from "vitest";
import { evictionProblem, parseUrlOptions, RedisStore } from "../src/index.ts";

describe("redis-store URL", () => {
  it("keeps the connection part for ioredis and takes the store's own options out", () => {
    expect(
      parseUrlOptions(
        new URL(
          "redis://:p%40ss@cache:6380/2?prefix=app&commandTimeoutMs=2000&connectTimeoutMs=3000&operationTimeoutMs=4000&closeTimeoutMs=500&family=6",
        ),
      ),
    ).toEqual({
      redisUrl: "redis://:p%40ss@cache:6380/2?family=6",
      prefix: "app",
      commandTimeoutMs: 2_000,
      timeouts: { connectMs: 3_000, operationMs: 4_000, closeMs: 500 },
    });
    expect(parseUrlOptions(new URL("rediss://user:secret@cache.example.com"))).toEqual({
      redisUrl: "rediss://user:secret@cache.example.com",
    });
  });

  it.each([
    ["redis://:secret-password@h/0?prefx=app", /unknown option "prefx".*Known: prefix/],
    ["redis://:secret-password@h/zero", /database .* must be a whole number/],
    ["redis://:secret-password@h/0?prefix=a:b", /prefix "a:b" is not valid/],
    ["redis://:secret-password@h/0?commandTimeoutMs=0", /commandTimeoutMs .* whole number of ms ≥ 1, got 0/],
    ["memcached://:secret-password@h", /not a redis:\/\/ or rediss:\/\/ URL/],
  ])("refuses %s with a ConfigurationError that says what to write, and no password", (text, message) => {
    const error = (() => {
      try {
        parseUrlOptions(new URL(text));
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as Error).message).toMatch(/^\[taskport\] \[redis-store\] /);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).not.toContain("secret-password");
  });

  it("core loads the package for a redis:// store URL, and options in the URL reach the store", async () => {
    const store = await createStoreFromUrl("redis://127.0.0.1:6379/0?prefix=tpurl");
    expect(store).toBeInstanceOf(RedisStore);
    expect((store as RedisStore).keys.job("1")).toBe("tpurl:job:1");
    await store.close();
  });

  it("options given to the constructor win over the URL's; url and connection together are refused", () => {
    expect(new RedisStore({ url: "redis://h/0?prefix=fromurl", prefix: "given" }).keys.prefix).toBe("given");
    expect(() => new RedisStore({ url: "redis://h", connection: {} as never })).toThrow(ConfigurationError);
  });

  it("check() objects to an allkeys-* eviction policy only", () => {
    expect(evictionProblem("maxmemory_policy:allkeys-lru\r\n", "h:6379/0")?.message).toMatch(/allkeys-lru.*evict deduplication keys/);
    expect(evictionProblem("maxmemory_policy:volatile-lru\r\n", "h:6379/0")).toBeUndefined();
    expect(evictionProblem("maxmemory_policy:noeviction\r\n", "h:6379/0")).toBeUndefined();
  });
});
