import { describe, expect, it } from "vitest";
import { DEFAULT_RETRY, retryDelayMs } from "../src/index.ts";
import { resolveRetryPolicy } from "../src/retry-policy.ts";

describe("retry policy", () => {
  it("defaults to no retry: a job may not be idempotent", () => {
    expect(DEFAULT_RETRY.maxAttempts).toBe(1);
  });

  it("exponential backoff doubles per attempt and stops at the cap", () => {
    const policy = resolveRetryPolicy({ backoff: "exponential", delayMs: 100, maxDelayMs: 500, jitter: 0 }, "t");
    expect([1, 2, 3, 4, 5].map((attempt) => retryDelayMs(policy, attempt))).toEqual([100, 200, 400, 500, 500]);
  });

  it("fixed backoff keeps the delay", () => {
    const policy = resolveRetryPolicy({ backoff: "fixed", delayMs: 250, jitter: 0 }, "t");
    expect([1, 2, 3].map((attempt) => retryDelayMs(policy, attempt))).toEqual([250, 250, 250]);
  });

  it("jitter only shortens, by at most its fraction", () => {
    const policy = resolveRetryPolicy({ backoff: "fixed", delayMs: 1000, jitter: 0.25 }, "t");
    expect(retryDelayMs(policy, 1, () => 0)).toBe(1000);
    expect(retryDelayMs(policy, 1, () => 0.999999)).toBe(750);
    for (let i = 0; i < 100; i++) {
      const delay = retryDelayMs(policy, 1);
      expect(delay).toBeGreaterThanOrEqual(750);
      expect(delay).toBeLessThanOrEqual(1000);
    }
  });

  it.each([
    [{ maxAttempts: 0 }, /maxAttempts/],
    [{ maxAttempts: 1.5 }, /maxAttempts/],
    [{ delayMs: -1 }, /delays/],
    [{ jitter: 2 }, /jitter/],
    [{ backoff: "linear" as "fixed" }, /backoff/],
  ])("refuses %o", (policy, message) => {
    expect(() => resolveRetryPolicy(policy, "task")).toThrow(message);
  });
});
