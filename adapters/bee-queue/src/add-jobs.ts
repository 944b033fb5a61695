import { createRequire } from "node:module";
import type { NewJob } from "@taskport/core";
import type { RedisClientLike } from "./redis-client.ts";

const require = createRequire(import.meta.url);
// bee-queue's own Lua scripts and their SHA1s (filled once a bee-queue queue has connected).
const lua = require(require.resolve("bee-queue/lib/lua", { paths: [require.resolve("bee-queue")] })) as {
  shas: Record<string, string>;
};

/** The keys bee-queue's `addJob` / `addDelayedJob` scripts touch for one queue. */
export interface AddJobKeys {
  readonly id: string;
  readonly jobs: string;
  readonly waiting: string;
  readonly delayed: string;
  readonly earlierDelayed: string;
}

/** One job to store: its bee-queue id and the record bee-queue's `Job#toData()` would write. */
export interface JobToAdd {
  readonly id: string;
  readonly record: string;
  /** Due time (epoch ms) of a delayed job. */
  readonly delay?: number;
}

/**
 * Store jobs with bee-queue's own `addJob` / `addDelayedJob` scripts, exactly as `Job#save()` does,
 * but without building a bee-queue `Job` (an EventEmitter) and its promise chain per job. The
 * EVALSHAs leave in the socket writes the connection groups them into (`writeOncePerTick`
 * on the adapter's enqueue connection: 16 per write), so Redis runs the first jobs of a batch
 * while the rest are still being sent. Each job settles on its own reply, so callers are not held
 * in lockstep behind a whole batch. A reply of null means bee-queue already held the id. The
 * queue's scripts must be loaded (a bee-queue queue on this server is ready).
 */
export function addJobs(client: RedisClientLike, keys: AddJobKeys, jobs: readonly JobToAdd[]): Promise<string | null>[] {
  return jobs.map(
    (job) =>
      new Promise<string | null>((resolve, reject) => {
        const done = (error: Error | null, reply: string | null) => (error ? reject(error) : resolve(reply));
        if (job.delay === undefined) {
          client.evalsha(lua.shas.addJob, 3, keys.id, keys.jobs, keys.waiting, job.id, job.record, done);
        } else {
          client.evalsha(
            lua.shas.addDelayedJob,
            4,
            keys.id,
            keys.jobs,
            keys.delayed,
            keys.earlierDelayed,
            job.id,
            job.record,
            job.delay,
            done,
          );
        }
      }),
  );
}

/**
 * bee-queue's record for a new taskport job, as `Job#toData()` writes it
 * (`{"data":…,"options":{timestamp,stacktraces,retries?,delay?},"status":"created","progress":0}`),
 * with the payload's JSON that core already computed instead of serializing the payload again.
 */
export function recordJson(job: NewJob, timestamp: number, delay: number | undefined): string {
  const timeout = job.timeoutMs !== undefined ? `,"timeoutMs":${job.timeoutMs}` : "";
  const headers = job.headers !== undefined ? `,"headers":${JSON.stringify(job.headers)}` : "";
  const retries = job.maxAttempts > 1 ? `,"retries":${job.maxAttempts - 1}` : "";
  const due = delay !== undefined ? `,"delay":${delay}` : "";
  return (
    `{"data":{"tp":1,"task":${JSON.stringify(job.name)},"payload":${job.payloadJson},"maxAttempts":${job.maxAttempts}${timeout}${headers},` +
    `"enqueuedAt":${job.enqueuedAt}},"options":{"timestamp":${timestamp},"stacktraces":[]${retries}${due}},"status":"created","progress":0}`
  );
}
