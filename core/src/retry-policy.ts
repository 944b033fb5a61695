import { ValidationError } from "./errors.ts";

/**
 * When and how often a failed job runs again. The worker computes each delay and the adapter
 * schedules it, so every engine retries the same way.
 */
export interface RetryPolicy {
  /** Attempts in all, including the first. Default 1: no retry unless asked (a job may not be idempotent). */
  readonly maxAttempts?: number;
  /** `exponential` (default) doubles the delay each attempt; `fixed` keeps it. */
  readonly backoff?: "fixed" | "exponential";
  /** Delay before the first retry, in ms. Default 1000. */
  readonly delayMs?: number;
  /** Upper bound for any one delay, in ms. Default one hour. */
  readonly maxDelayMs?: number;
  /**
   * Fraction of each delay that is randomised downwards, 0…1, so that jobs failing together do
   * not retry together. Default 0.2: a 10 s delay becomes 8–10 s. 0 makes delays exact.
   */
  readonly jitter?: number;
}

export const DEFAULT_RETRY: Required<RetryPolicy> = {
  maxAttempts: 1,
  backoff: "exponential",
  delayMs: 1000,
  maxDelayMs: 3_600_000,
  jitter: 0.2,
};

export function resolveRetryPolicy(policy: RetryPolicy | undefined, where: string): Required<RetryPolicy> {
  const resolved = { ...DEFAULT_RETRY, ...policy };
  if (!Number.isInteger(resolved.maxAttempts) || resolved.maxAttempts < 1) {
    throw new ValidationError("core", `${where}: retry.maxAttempts must be an integer ≥ 1, got ${resolved.maxAttempts}.`);
  }
  if (!(resolved.delayMs >= 0) || !(resolved.maxDelayMs >= 0)) {
    throw new ValidationError("core", `${where}: retry delays must be ≥ 0 ms.`);
  }
  if (!(resolved.jitter >= 0 && resolved.jitter <= 1)) {
    throw new ValidationError("core", `${where}: retry.jitter must be between 0 and 1, got ${resolved.jitter}.`);
  }
  if (resolved.backoff !== "fixed" && resolved.backoff !== "exponential") {
    throw new ValidationError("core", `${where}: retry.backoff must be "fixed" or "exponential".`);
  }
  return resolved;
}

/**
 * Delay before the next attempt, after `attempt` (1-based) has failed.
 * Never below `(1 - jitter) × base`, never above `maxDelayMs`.
 */
export function retryDelayMs(policy: Required<RetryPolicy>, attempt: number, random = Math.random): number {
  const base = policy.backoff === "fixed" ? policy.delayMs : policy.delayMs * 2 ** (attempt - 1);
  const capped = Math.min(base, policy.maxDelayMs);
  return Math.round(capped * (1 - policy.jitter * random()));
}
