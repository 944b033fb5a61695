import type { EnqueueReceipt, QueueStats, Settlement } from "@taskport/core";
import { type Breaker, forward } from "./breaker.ts";

/** Breakers of enqueue, state and shutdown obligations. */
export const LIFECYCLE_BREAKERS: readonly Breaker[] = [
  {
    name: "partial-batch-as-success",
    obligation: "enqueue resolves once the engine holds every job; a partial failure names which jobs were stored (BulkEnqueueError)",
    caughtBy: "bulkEnqueue",
    wrap: (adapter) =>
      forward(adapter, {
        enqueue: async (jobs, context) => {
          if (jobs.length < 2) return adapter.enqueue(jobs, context);
          const stored = await adapter.enqueue(jobs.slice(0, -1), context);
          return [...stored, { id: (jobs[jobs.length - 1] as { id: string }).id }];
        },
      }),
  },
  {
    name: "dedup-key-not-released",
    obligation: 'deduplication "until-finished": the key is free again once its job has finished for good',
    caughtBy: "deduplication",
    applies: (caps) => caps.deduplication === "until-finished",
    wrap: (adapter) => {
      const seen = new Map<string, string>();
      return forward(adapter, {
        enqueue: async (jobs, context) => {
          const receipts: (EnqueueReceipt | undefined)[] = jobs.map((job) => {
            const held = job.deduplicationKey === undefined ? undefined : seen.get(`${job.queue}\u0000${job.deduplicationKey}`);
            return held === undefined ? undefined : { id: held, deduplicated: true };
          });
          const fresh = jobs.filter((_, i) => receipts[i] === undefined);
          const stored = fresh.length === 0 ? [] : await adapter.enqueue(fresh, context);
          let next = 0;
          return receipts.map((receipt, i) => {
            if (receipt) return receipt;
            const job = jobs[i] as (typeof jobs)[number];
            const out = stored[next++] ?? { id: job.id };
            if (job.deduplicationKey !== undefined && !out.deduplicated) seen.set(`${job.queue}\u0000${job.deduplicationKey}`, out.id);
            return out;
          });
        },
      });
    },
  },
  {
    name: "cancel-not-cancelling",
    obligation: "a queued job that is cancelled never runs",
    caughtBy: "cancel",
    applies: (caps) => caps.cancel,
    wrap: (adapter) => forward(adapter, { cancel: async () => true }),
  },
  {
    name: "stop-not-waiting",
    obligation: "Consumer.stop() resolves once every delivery handed to the handler has been settled",
    caughtBy: "gracefulShutdown",
    // As an adapter that closes its channel when stop() returns: what was in flight is never acked,
    // and the engine delivers it again.
    wrap: (adapter) =>
      forward(adapter, {
        consume: async (options, handler) => {
          const consumer = await adapter.consume(options, handler);
          return {
            stop: () => consumer.abandon(),
            abandon: () => consumer.abandon(),
          };
        },
      }),
  },
  {
    name: "abandon-loses-jobs",
    obligation: "a job whose worker dies without settling it is delivered again (at-least-once)",
    caughtBy: "crashRecovery",
    wrap: (adapter) =>
      forward(adapter, {
        consume: async (options, handler) => {
          let dies!: () => void;
          const death = new Promise<Settlement>((resolve) => {
            dies = () => resolve({ status: "succeeded", result: null, resultJson: "null" });
          });
          // A job in flight when the worker "dies" is reported done: it is never delivered again.
          const consumer = await adapter.consume(options, (delivery) => Promise.race([handler(delivery), death]));
          return {
            stop: () => consumer.stop(),
            abandon: async () => {
              dies();
              await consumer.stop();
            },
          };
        },
      }),
  },
  {
    name: "dead-letters-lost",
    obligation: "jobs that fail for good are kept where an operator can inspect them (listDeadLetters)",
    caughtBy: "deadLetter",
    applies: (caps) => caps.deadLetter,
    wrap: (adapter) => forward(adapter, { listDeadLetters: async () => [] }),
  },
  {
    name: "stats-miscounted",
    obligation: "stats counts each job once, in its status",
    caughtBy: "stats",
    applies: (caps) => caps.stats === true,
    wrap: (adapter) =>
      forward(adapter, {
        stats: async (queues) => {
          const stats = (await adapter.stats?.(queues)) ?? [];
          return stats.map(
            (q): QueueStats => ({ ...q, counts: { ...q.counts, queued: (q.counts.queued ?? 0) + (q.counts.running ?? 0), running: 0 } }),
          );
        },
      }),
  },
  {
    name: "pause-ignored",
    obligation: "workers take no job from a paused queue until it is resumed",
    caughtBy: "pause",
    applies: (caps) => caps.pause === true,
    wrap: (adapter) => forward(adapter, { pause: async () => {} }),
  },
];
