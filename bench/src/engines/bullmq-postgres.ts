/**
 * taskport over BullMQ's PostgreSQL backend against plain BullMQ on the same backend: same
 * PostgreSQL, same schema, same pool size, side by side. Both arms use BullMQ's defaults otherwise
 * (completed jobs kept, events written) and the same worker concurrency. The plain arm adds jobs as
 * a BullMQ user would; taskport's jobs also carry a job id, a priority and their enqueue time, so
 * three more scenarios give the plain arm those job options too, to separate their cost from
 * taskport's own. On PostgreSQL taskport's jobs carry no retention ages: its workers sweep finished
 * jobs past retention every so often instead (adapters/bullmq/src/retention-sweep.ts), at most once
 * a minute, so not within a measured round. What that choice saves and costs is measured apart, by
 * plain BullMQ alone (the last two rows): the ages' cost on each finish, and the same deletions
 * done by ages as jobs finish or by one sweep after (`Queue.clean`, as taskport's sweep calls it).
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
 * Plain BullMQ draining a backlog of `count` jobs with taskport's options, plus `retention`:
 * `"none"`, nothing else; `"ages"` / `"age 0"`, each job also carries retention ages (BullMQ runs an
 * age DELETE in each finish's transaction: with a day's age it finds nothing here, with age 0 it
 * deletes each job as it finishes); `"sweep"`, no ages, and once drained every job is deleted by
 * `Queue.clean` by 1,000, as taskport's sweep does — timed with the drain.
 */
async function retentionBacklog(count: number, retention: "none" | "ages" | "age 0" | "sweep"): Promise<number> {
  const name = queueName("retention");
  const queue = new Queue(name, { connection: CONNECTION }, createPostgresBackend) as unknown as Queue;
  queue.on("error", () => {});
  const options = (): JobsOptions =>
    retention === "ages"
      ? sameOptions()
      : retention === "age 0"
        ? { ...taskportOptions(), removeOnComplete: { age: 0 }, removeOnFail: { age: 0 } }
        : taskportOptions();
  for (let i = 0; i < count; i += CHUNK) {
    await queue.addBulk(
      Array.from({ length: Math.min(CHUNK, count - i) }, (_, j) => ({ name: "noop", data: { i: i + j }, opts: options() })),
    );
  }
  const finished = countdown(count);
  const start = performance.now();
  const worker = new Worker(name, async () => finished.tick(), { connection: CONNECTION, concurrency: CONCURRENCY }, createPostgresBackend);
  worker.on("error", () => {});
  await finished.done;
  if (retention === "sweep") while ((await queue.clean(0, CHUNK, "completed")).length === CHUNK);
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
      `plain BullMQ alone, backlog of ${n(SIZES.backlog)}: no retention ages vs a day's ages on each job (none expire)`,
      () => retentionBacklog(SIZES.backlog, "none"),
      () => retentionBacklog(SIZES.backlog, "ages"),
    ),
    jobsPerSecond(
      `plain BullMQ alone, backlog of ${n(SIZES.backlog)}, every job deleted: drained then swept (Queue.clean) vs age 0 on each job`,
      () => retentionBacklog(SIZES.backlog, "sweep"),
      () => retentionBacklog(SIZES.backlog, "age 0"),
    ),
  ];
}

export async function teardown(): Promise<void> {
  await plain.close();
  await adapter?.close();
}
