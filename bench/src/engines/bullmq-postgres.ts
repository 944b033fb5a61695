/**
 * taskport over BullMQ's PostgreSQL backend against plain BullMQ on the same backend: same
 * PostgreSQL, same schema, same pool size, side by side. Both arms use BullMQ's defaults otherwise
 * (completed jobs kept, events written) and the same worker concurrency. The plain arm adds jobs as
 * a BullMQ user would; taskport's jobs also carry a job id, a priority, their enqueue time and the
 * backend's retention ages (which BullMQ's PostgreSQL backend prunes by on every finish), so three
 * more scenarios give the plain arm those job options too, to separate their cost from taskport's own.
 * Processing: a pre-loaded backlog drained at concurrency 50; latency: enqueue-to-start on an idle worker.
 */
import { BullMQAdapter } from "@taskport/bullmq";
import { Backend } from "@taskport/core";
import { createPostgresBackend, type PostgresPoolConfig, Queue, Worker } from "bullmq";
import type { Scenario } from "../harness.ts";
import { CONCURRENCY } from "../scenarios.ts";
import { bullmqScenarios, PlainBullMQ } from "./bullmq.ts";

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

export function scenarios(): Scenario[] {
  return bullmqScenarios(SIZES, plain, () => {
    backend ??= new Backend("bench", taskportAdapter());
    return backend;
  });
}

export async function teardown(): Promise<void> {
  await plain.close();
  await adapter?.close();
}
