/**
 * taskport over BullMQ's PostgreSQL backend against plain BullMQ on the same backend: same
 * PostgreSQL, same schema, same pool size, side by side. Both arms use BullMQ's defaults otherwise
 * (completed jobs kept, events written) and the same worker concurrency. The plain arm adds jobs as
 * a BullMQ user would; taskport's jobs also carry a job id, a priority and their enqueue time, so
 * three more scenarios give the plain arm those job options too, to separate their cost from
 * taskport's own. On PostgreSQL taskport's jobs carry no retention ages: its workers sweep finished
 * jobs past retention every so often instead (adapters/bullmq/src/retention-sweep.ts), at most once
 * a minute, so not within a measured round. What that choice saves and costs is measured apart, by
 * plain BullMQ alone (the last row): a backlog drained with the ages on every job, against the same
 * backlog drained without them and then swept entirely, by the same `Queue.clean` calls.
 * Processing: a pre-loaded backlog drained at concurrency 50; latency: enqueue-to-start on an idle worker.
 */
import { BullMQAdapter } from "@taskport/bullmq";
import { Backend } from "@taskport/core";
import { createPostgresBackend, type JobsOptions, type PostgresPoolConfig, Queue, Worker } from "bullmq";
import type { Scenario } from "../harness.ts";
import { countdown, perSecond } from "../harness.ts";
import { CHUNK, CONCURRENCY, jobsPerSecond, n, queueName } from "../scenarios.ts";
import { bullmqScenarios, PlainBullMQ, sameOptions } from "./bullmq.ts";

export const title = "BullMQ 6.7 on PostgreSQL: taskport vs plain BullMQ (same database, same schema, same settings)";

const URL = process.env.TASKPORT_PG_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const CONNECTION: PostgresPoolConfig = { connectionString: URL, schema: "tp_bullmq_bench", migrate: true, max: 10 };
const SIZES = {
  sequential: Number(process.env.BENCH_BULLMQ_PG_SEQUENTIAL ?? 2_000),
  bulk: Number(process.env.BENCH_BULLMQ_PG_BULK ?? 20_000),
  backlog: Number(process.env.BENCH_BULLMQ_PG_BACKLOG ?? 5_000),
  latency: Number(process.env.BENCH_BULLMQ_PG_LATENCY ?? 200),
};

let adapter: BullMQAdapter | undefined;
let backend: Backend | undefined;

function taskportAdapter(): BullMQAdapter {
  adapter ??= new BullMQAdapter({ postgres: CONNECTION, clientName: "tp-bench-taskport" });
  return adapter;
}

const plain = new PlainBullMQ({
  queue: (name) => new Queue(name, { connection: CONNECTION }, createPostgresBackend) as unknown as Queue,
  worker: (name, handler) =>
    new Worker(name, handler, { connection: CONNECTION, concurrency: CONCURRENCY }, createPostgresBackend) as unknown as Worker,
  destroy: (name) => taskportAdapter().destroyQueue(name),
});

/** taskport's job options on PostgreSQL: as on Redis, without the retention ages. */
function taskportOptions(): JobsOptions {
  const { removeOnComplete: _, removeOnFail: __, ...options } = sameOptions();
  return options;
}

/**
 * Plain BullMQ draining a backlog of jobs with taskport's options: with `ages`, each job also
 * carries the retention ages (BullMQ deletes expired finished jobs in each finish's transaction);
 * without, the drained jobs are then all deleted by `Queue.clean` by 1,000, as taskport's sweep
 * does (more work than the ages do here, where none has expired: an upper bound of the sweep's cost).
 */
async function retentionBacklog(count: number, ages: boolean): Promise<number> {
  const name = queueName("retention");
  const queue = new Queue(name, { connection: CONNECTION }, createPostgresBackend) as unknown as Queue;
  queue.on("error", () => {});
  for (let i = 0; i < count; i += CHUNK) {
    await queue.addBulk(
      Array.from({ length: Math.min(CHUNK, count - i) }, (_, j) => ({
        name: "noop",
        data: { i: i + j },
        opts: ages ? sameOptions() : taskportOptions(),
      })),
    );
  }
  const finished = countdown(count);
  const start = performance.now();
  const worker = new Worker(name, async () => finished.tick(), { connection: CONNECTION, concurrency: CONCURRENCY }, createPostgresBackend);
  worker.on("error", () => {});
  await finished.done;
  if (!ages) while ((await queue.clean(0, CHUNK, "completed")).length === CHUNK);
  const rate = perSecond(count, performance.now() - start);
  await worker.close();
  await queue.close();
  await taskportAdapter().destroyQueue(name);
  return rate;
}

export function scenarios(): Scenario[] {
  return [
    ...bullmqScenarios(
      SIZES,
      plain,
      () => {
        backend ??= new Backend("bench", taskportAdapter());
        return backend;
      },
      { taskportOptions },
    ),
    jobsPerSecond(
      `plain BullMQ alone, backlog of ${n(SIZES.backlog)}: no ages, then all swept (Queue.clean) vs retention ages on each job`,
      () => retentionBacklog(SIZES.backlog, false),
      () => retentionBacklog(SIZES.backlog, true),
    ),
  ];
}

export async function teardown(): Promise<void> {
  await plain.close();
  await adapter?.close();
}
