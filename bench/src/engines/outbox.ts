/**
 * The PostgreSQL outbox against direct enqueue, per engine, side by side in one run. The "raw" arm
 * is taskport enqueueing straight to the engine (no transaction); the "taskport" arm enqueues
 * inside a PostgreSQL transaction, through the outbox, and the relay hands the jobs over.
 * - commit-to-start: from the COMMIT (outbox) or the enqueue call (direct) to the handler's start,
 *   one job at a time on an idle worker, which runs the relay (woken by NOTIFY).
 * - batches: jobs stored in the engine per second, in batches of 500: direct `enqueueMany`, or one
 *   transaction per batch and the relay's hand-over until the outbox is empty.
 * `BENCH_OUTBOX_ENGINES=bullmq,rabbitmq` picks engines (default: bullmq, bee-queue, rabbitmq, sqs).
 */
import type { ChildProcess } from "node:child_process";
import { BeeQueueAdapter } from "@taskport/bee-queue";
import { BullMQAdapter } from "@taskport/bullmq";
import { type Adapter, Backend, defineTask, type OutboxAdapter, startWorker, withOutbox } from "@taskport/core";
import { PostgresOutbox } from "@taskport/postgres-outbox";
import { RabbitMQAdapter } from "@taskport/rabbitmq";
import { SqsAdapter } from "@taskport/sqs";
import pg from "pg";
import type { Scenario } from "../harness.ts";
import { percentile, StartSignal, timedRate } from "../harness.ts";
import { startEmulator } from "./sqs.ts";

export const title = "PostgreSQL outbox: enqueue inside a transaction and relay, vs direct enqueue (same engine, same worker)";

const DATABASE = process.env.TASKPORT_PG_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const SCHEMA = "taskport_bench";
const REDIS = { host: process.env.TASKPORT_REDIS_HOST ?? "127.0.0.1", port: Number(process.env.TASKPORT_REDIS_PORT ?? 6379) };
const AMQP_URL = process.env.TASKPORT_AMQP_URL ?? "amqp://guest:guest@127.0.0.1:5672";
const LATENCY_SAMPLES = Number(process.env.BENCH_OUTBOX_LATENCY ?? 200);
const BATCH = 500;
const BATCHES = Number(process.env.BENCH_OUTBOX_BATCHES ?? 10);
const ENGINES = (process.env.BENCH_OUTBOX_ENGINES ?? "bullmq,bee-queue,rabbitmq,sqs").split(",");

let emulator: ChildProcess | undefined;
const opened: { close(): Promise<void> }[] = [];
let seq = 0;

async function engine(name: string): Promise<Adapter> {
  switch (name) {
    case "bullmq":
      return new BullMQAdapter({ redis: REDIS, prefix: "tpbench-outbox", clientName: "tp-bench-outbox" });
    case "bee-queue":
      return new BeeQueueAdapter({ redis: REDIS, prefix: "tpbench-outbox", clientName: "tp-bench-outbox" });
    case "rabbitmq":
      return new RabbitMQAdapter({ url: AMQP_URL, connectionName: "tp-bench-outbox" });
    case "sqs": {
      if (!emulator) {
        const started = await startEmulator();
        emulator = started.child;
        sqsEndpoint = started.endpoint;
      }
      return new SqsAdapter({
        endpoint: sqsEndpoint,
        region: "us-east-1",
        credentials: { accessKeyId: "b", secretAccessKey: "b" },
        createQueues: true,
      });
    }
    default:
      throw new Error(`no outbox benchmark for engine "${name}"`);
  }
}
let sqsEndpoint = "";

/** One engine with the outbox (rows under a target of this run's own), as one backend. */
async function setup(name: string): Promise<{ adapter: OutboxAdapter; backend: Backend }> {
  const outbox = new PostgresOutbox({ connectionString: DATABASE, schema: SCHEMA, applicationName: "tp-bench-outbox" });
  const adapter = withOutbox(await engine(name), outbox, { target: `bench-${name}-${process.pid}` });
  const backend = new Backend(`bench-${name}`, adapter);
  opened.push(backend);
  await adapter.check();
  return { adapter, backend };
}

/** The app's own connection, on which its transactions run. */
async function appClient(): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: DATABASE });
  client.on("error", (error) => console.error(`app connection: ${error.message}`));
  await client.connect();
  return client;
}

/** `work` with a pg client inside BEGIN; `commit` runs the COMMIT and returns when it is done. */
async function inTransaction(client: pg.Client, work: () => Promise<unknown>): Promise<() => Promise<void>> {
  await client.query("BEGIN");
  await work();
  return async () => {
    await client.query("COMMIT");
  };
}

function latencyScenarios(name: string, ready: Promise<{ backend: Backend }>): Scenario[] {
  const run = async (p: number, throughOutbox: boolean): Promise<number> => {
    const { backend } = await ready;
    const signal = new StartSignal();
    const queue = `bench-outbox-lat-${process.pid}-${++seq}`;
    const task = defineTask("noop", async () => signal.started(), { queue }).using({ backend });
    const worker = await startWorker({ tasks: [task], backend, concurrency: 10 });
    const client = await appClient();
    const samples: number[] = [];
    try {
      for (let i = 0; i < LATENCY_SAMPLES; i++) {
        const started = signal.next();
        let sent: number;
        if (throughOutbox) {
          const commit = await inTransaction(client, () => task.enqueue(undefined, { transaction: client }));
          sent = performance.now();
          await commit();
        } else {
          sent = performance.now();
          await task.enqueue(undefined);
        }
        samples.push((await started) - sent);
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
    } finally {
      await client.end();
      await worker.close();
    }
    return percentile(samples, p);
  };
  return [50, 99].map((p) => ({
    name: `${name}: commit-to-start p${p} (raw: enqueue-to-start)`,
    unit: "ms" as const,
    higherIsBetter: false,
    taskport: () => run(p, true),
    raw: () => run(p, false),
  }));
}

function throughputScenario(name: string, ready: Promise<{ adapter: OutboxAdapter; backend: Backend }>): Scenario {
  const total = BATCH * BATCHES;
  const payloads = Array.from({ length: BATCH }, (_, i) => ({ i }));
  return {
    name: `${name}: ${total.toLocaleString("en-US")} jobs stored in the engine, batches of ${BATCH}`,
    unit: "jobs/s",
    higherIsBetter: true,
    raw: async () => {
      const { backend } = await ready;
      const task = defineTask("noop", async (_p: { i: number }) => {}, { queue: `bench-outbox-bulk-${process.pid}-${++seq}` }).using({
        backend,
      });
      return timedRate(total, async () => {
        for (let b = 0; b < BATCHES; b++) await task.enqueueMany(payloads);
      });
    },
    taskport: async () => {
      const { adapter, backend } = await ready;
      const task = defineTask("noop", async (_p: { i: number }) => {}, { queue: `bench-outbox-bulk-${process.pid}-${++seq}` }).using({
        backend,
      });
      const client = await appClient();
      const lease = await adapter.startRelay((error) => console.error(`relay: ${error.message}`));
      const before = lease.relay.stats.relayed;
      try {
        return await timedRate(total, async () => {
          for (let b = 0; b < BATCHES; b++) {
            const commit = await inTransaction(client, () => task.enqueueMany(payloads, { transaction: client }));
            await commit();
          }
          while (lease.relay.stats.relayed - before < total) await new Promise((resolve) => setTimeout(resolve, 1));
        });
      } finally {
        await lease.stop();
        await client.end();
      }
    },
  };
}

export function scenarios(): Scenario[] {
  return ENGINES.flatMap((name) => {
    const ready = setup(name);
    return [...latencyScenarios(name, ready), throughputScenario(name, ready)];
  });
}

export async function teardown(): Promise<void> {
  for (const backend of opened.splice(0)) await backend.close().catch(() => {});
  emulator?.kill();
  const client = new pg.Client({ connectionString: DATABASE });
  await client.connect();
  await client.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
  await client.end();
}
