/**
 * Delays on plain AMQP: a message waits in a delay queue whose queue-level TTL is the same for all
 * its messages, then is dead-lettered back to its work queue. Because a TTL only expires at the head
 * of a queue, one queue per duration keeps a short delay from waiting behind a long one. Durations
 * are powers of two (ms) up to a largest bucket; a delay is split into hops, largest bucket first,
 * and the worker re-delays the remainder when a message comes back early.
 */

/** Largest default bucket: 2^30 ms, about 12.4 days. Longer delays take several hops. */
export const DEFAULT_MAX_BUCKET_MS = 2 ** 30;

/** Headers exchange that routes a delayed message to its bucket; it keeps the work queue as routing key. */
export const DELAY_EXCHANGE = "taskport.delay";

export function bucketQueueName(ttlMs: number): string {
  return `taskport.delay.${ttlMs}`;
}

/** The bucket to wait in next for `remainingMs` (> 0): the largest one not longer than it. */
export function chooseBucket(remainingMs: number, maxBucketMs: number): number {
  const remaining = Math.max(1, Math.floor(remainingMs));
  if (remaining >= maxBucketMs) return maxBucketMs;
  return 2 ** Math.floor(Math.log2(remaining));
}

/**
 * An unused bucket queue deletes itself after this long (publishing does not count as use; a
 * declaration does). It must outlive every message in it: see {@link redeclareAfterMs}.
 */
export function bucketExpiresMs(ttlMs: number): number {
  return 2 * ttlMs + 60_000;
}

/**
 * The adapter declares a bucket again before publishing to it once this long has passed since its
 * last declaration. A message published then expires by `last + redeclareAfter + ttl`, which is
 * 30 s before the queue could expire (`last + 2 ttl + 60 s`). Short buckets are thus redeclared
 * every half minute, not on every publish.
 */
export function redeclareAfterMs(ttlMs: number): number {
  return ttlMs + 30_000;
}
