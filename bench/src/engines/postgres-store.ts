/**
 * What the PostgreSQL job store costs: RabbitMQ and SQS through taskport, alone and with the store
 * beside them (`withJobStore(engine, PostgresStore)`), side by side in one run. The store writes one
 * statement per enqueue batch (record) and one to confirm it, and per worker turn one statement for
 * the starts and one for the outcomes; plain jobs, no keys, so the figures are the store's floor.
 * Between rounds the store's table is emptied, so that each round starts from the same table.
 */
import { DeleteQueueCommand, GetQueueUrlCommand, SQSClient } from "@aws-sdk/client-sqs";
import { type Adapter, Backend, defineTask, startWorker, withJobStore } from "@taskport/core";
import { PostgresStore } from "@taskport/postgres-store";
import { RabbitMQAdapter } from "@taskport/rabbitmq";
import { SqsAdapter } from "@taskport/sqs";
import { connect } from "amqplib";
import pg from "pg";
import { countdown, inParallel, type Scenario, timedRate } from "../harness.ts";
import { startEmulator } from "./sqs.ts";

export const title = "RabbitMQ and SQS end to end, alone and with the PostgreSQL job store beside them";
export const arms = ["engine alone", "+ postgres store"] as const;

const AMQP_URL = process.env.TASKPORT_AMQP_URL ?? "amqp://guest:guest@127.0.0.1:5672";
const PG_URL = process.env.TASKPORT_PG_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const SCHEMA = "taskport_bench_store";
const CHUNK = 1_000;
const CONCURRENCY = 50;

interface EngineUnderTest {
  readonly name: string;
  /** Jobs per scenario. */
  readonly jobs: number;
  adapter(): Promise<Adapter>;
  dropQueue(queue: string): Promise<void>;
  close(): Promise<void>;
}

const rabbitmq: EngineUnderTest = {
  name: "RabbitMQ",
  jobs: Number(process.env.BENCH_STORE_AMQP_JOBS ?? 10_000),
  adapter: async () => new RabbitMQAdapter({ url: AMQP_URL, connectionName: "tp-bench-store" }),
  async dropQueue(queue) {
    const model = await connect(AMQP_URL);
    const channel = await model.createChannel();
    await channel.deleteQueue(queue);
    await channel.deleteQueue(`${queue}.dead`);
    await model.close();
  },
  close: async () => {},
};

let fauxqs: Awaited<ReturnType<typeof startEmulator>> | undefined;
const SQS_OPTIONS = { region: "us-east-1", credentials: { accessKeyId: "bench", secretAccessKey: "bench" } };

const sqs: EngineUnderTest = {
  name: "SQS",
  jobs: Number(process.env.BENCH_STORE_SQS_JOBS ?? 4_000),
  async adapter() {
    fauxqs ??= await startEmulator();
    return new SqsAdapter({ endpoint: fauxqs.endpoint, ...SQS_OPTIONS, createQueues: true });
  },
  async dropQueue(queue) {
    const client = new SQSClient({ endpoint: fauxqs?.endpoint, ...SQS_OPTIONS });
    for (const name of [queue, `${queue}-dlq`]) {
      const url = await client
        .send(new GetQueueUrlCommand({ QueueName: name }))
        .then((out) => out.QueueUrl)
        .catch(() => undefined);
      if (url) await client.send(new DeleteQueueCommand({ QueueUrl: url }));
    }
    client.destroy();
  },
  async close() {
    fauxqs?.child.kill();
  },
};

/** The two arms over one engine: its backend alone, and one with the store beside it. */
interface Arms {
  readonly alone: Backend;
  readonly stored: Backend;
}

const opened = new Map<EngineUnderTest, Arms>();
let seq = 0;

async function armsOf(engine: EngineUnderTest): Promise<Arms> {
  let arms = opened.get(engine);
  if (!arms) {
    const store = new PostgresStore({ url: PG_URL, schema: SCHEMA });
    arms = {
      alone: new Backend("alone", await engine.adapter()),
      stored: new Backend("stored", withJobStore(await engine.adapter(), store)),
    };
    opened.set(engine, arms);
  }
  return arms;
}

function noopTask(backend: Backend, queue: string, onRun: () => void = () => {}) {
  return defineTask("noop", async (_: { i: number }) => onRun(), { queue }).using({ backend });
}

/** One measured round on a queue of its own, dropped afterwards with the store's records. */
async function round(
  engine: EngineUnderTest,
  withStore: boolean,
  work: (backend: Backend, queue: string) => Promise<number>,
): Promise<number> {
  const arms = await armsOf(engine);
  const queue = `tp-bench-store-${process.pid}-${++seq}`;
  try {
    return await work(withStore ? arms.stored : arms.alone, queue);
  } finally {
    await engine.dropQueue(queue);
    if (withStore) await emptyStore();
  }
}

async function emptyStore(): Promise<void> {
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  await client.query(`TRUNCATE "${SCHEMA}".jobs`);
  await client.end();
}

async function enqueueBatches(backend: Backend, queue: string, count: number): Promise<void> {
  const task = noopTask(backend, queue);
  for (let i = 0; i < count; i += CHUNK) {
    await task.enqueueMany(Array.from({ length: Math.min(CHUNK, count - i) }, (_, j) => ({ i: i + j })));
  }
}

function bulkEnqueue(engine: EngineUnderTest, withStore: boolean): Promise<number> {
  return round(engine, withStore, async (backend, queue) => {
    await noopTask(backend, queue).enqueue({ i: -1 }); // declares the queue, as an app's first enqueue does
    return timedRate(engine.jobs, () => enqueueBatches(backend, queue, engine.jobs));
  });
}

function concurrentEnqueue(engine: EngineUnderTest, withStore: boolean): Promise<number> {
  const count = engine.jobs / 4;
  return round(engine, withStore, async (backend, queue) => {
    const task = noopTask(backend, queue);
    await task.enqueue({ i: -1 });
    return timedRate(count, () => inParallel(count, 50, (i) => task.enqueue({ i })));
  });
}

/** A backlog enqueued first, then drained by one worker: processing alone. */
function drain(engine: EngineUnderTest, withStore: boolean): Promise<number> {
  return round(engine, withStore, async (backend, queue) => {
    await enqueueBatches(backend, queue, engine.jobs);
    const finished = countdown(engine.jobs);
    const task = noopTask(backend, queue, () => finished.tick());
    return timedRate(engine.jobs, async () => {
      const worker = await startWorker({ tasks: [task], backend, concurrency: CONCURRENCY });
      await finished.done;
      await worker.close();
    });
  });
}

/** Enqueued by 1,000 while a worker runs: from the first enqueue to the last job done. */
function endToEnd(engine: EngineUnderTest, withStore: boolean): Promise<number> {
  return round(engine, withStore, async (backend, queue) => {
    // One more job than measured: the first declares the queue, as an app's first enqueue does.
    const finished = countdown(engine.jobs + 1);
    const task = noopTask(backend, queue, () => finished.tick());
    await task.enqueue({ i: -1 });
    const worker = await startWorker({ tasks: [task], backend, concurrency: CONCURRENCY });
    const rate = await timedRate(engine.jobs, async () => {
      await enqueueBatches(backend, queue, engine.jobs);
      await finished.done;
    });
    await worker.close();
    return rate;
  });
}

export function scenarios(): Scenario[] {
  const n = (x: number) => x.toLocaleString("en-US");
  return [rabbitmq, sqs].flatMap((engine): Scenario[] => [
    {
      name: `${engine.name}: end-to-end, ${n(engine.jobs)} enqueued by ${n(CHUNK)} while a worker runs (concurrency ${CONCURRENCY})`,
      unit: "jobs/s",
      higherIsBetter: true,
      raw: () => endToEnd(engine, false),
      taskport: () => endToEnd(engine, true),
    },
    {
      name: `${engine.name}: end-to-end, backlog of ${n(engine.jobs)} drained (concurrency ${CONCURRENCY})`,
      unit: "jobs/s",
      higherIsBetter: true,
      raw: () => drain(engine, false),
      taskport: () => drain(engine, true),
    },
    {
      name: `${engine.name}: enqueueMany by ${n(CHUNK)} (${n(engine.jobs)})`,
      unit: "jobs/s",
      higherIsBetter: true,
      raw: () => bulkEnqueue(engine, false),
      taskport: () => bulkEnqueue(engine, true),
    },
    {
      name: `${engine.name}: concurrent enqueue, 50 in flight (${n(engine.jobs / 4)})`,
      unit: "jobs/s",
      higherIsBetter: true,
      raw: () => concurrentEnqueue(engine, false),
      taskport: () => concurrentEnqueue(engine, true),
    },
  ]);
}

export async function teardown(): Promise<void> {
  for (const [engine, arms] of opened) {
    await arms.alone.close();
    await arms.stored.close();
    await engine.close();
  }
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  await client.query(`DROP SCHEMA IF EXISTS "${SCHEMA}" CASCADE`);
  await client.end();
}
