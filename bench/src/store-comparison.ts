/**
 * What a job store costs: RabbitMQ and SQS through taskport, alone and with the store beside them
 * (`withJobStore(engine, store)`), side by side in one run — shared by the stores' benchmark files
 * (engines/postgres-store.ts, engines/redis-store.ts), which say how to make, empty and drop their
 * store. The store writes once per enqueue batch (record) and once to confirm it, and per worker turn
 * once for the starts and once for the outcomes; plain jobs, no keys, so the figures are the store's
 * floor. Between rounds the store is emptied, so that each round starts from the same data.
 */
import { DeleteQueueCommand, GetQueueUrlCommand, SQSClient } from "@aws-sdk/client-sqs";
import { type Adapter, Backend, defineTask, type JobStore, startWorker, withJobStore } from "@taskport/core";
import { RabbitMQAdapter } from "@taskport/rabbitmq";
import { SqsAdapter } from "@taskport/sqs";
import { connect } from "amqplib";
import { startEmulator } from "./engines/sqs.ts";
import { countdown, enqueueToStart, inParallel, percentile, type Scenario, StartSignal, timedRate } from "./harness.ts";

/** How a store's benchmark file makes its store, and clears up after it. */
export interface StoreUnderTest {
  /** A store over the benchmark's own namespace (a schema, a key prefix); opens nothing yet. */
  create(): JobStore;
  /** Delete every record in the namespace: called after each round with the store. */
  empty(): Promise<void>;
  /** Remove the namespace, at the end of the run. */
  drop(): Promise<void>;
}

const AMQP_URL = process.env.TASKPORT_AMQP_URL ?? "amqp://guest:guest@127.0.0.1:5672";
const CHUNK = 1_000;
const CONCURRENCY = 50;
const LATENCY_SAMPLES = Number(process.env.BENCH_STORE_LATENCY ?? 200);

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
    // The next file of the same run (the other store's) starts an emulator of its own.
    fauxqs = undefined;
  },
};

/** The two arms over one engine: its backend alone, and one with the store beside it. */
interface Arms {
  readonly alone: Backend;
  readonly stored: Backend;
}

const opened = new Map<EngineUnderTest, Arms>();
let seq = 0;
let storeUnderTest: StoreUnderTest | undefined;

async function armsOf(engine: EngineUnderTest): Promise<Arms> {
  let arms = opened.get(engine);
  if (!arms) {
    arms = {
      alone: new Backend("alone", await engine.adapter()),
      stored: new Backend("stored", withJobStore(await engine.adapter(), (storeUnderTest as StoreUnderTest).create())),
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
    if (withStore) await (storeUnderTest as StoreUnderTest).empty();
  }
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

/** Enqueue-to-start on an idle worker, one job at a time: the round trips the store adds to each job. */
function latency(engine: EngineUnderTest, withStore: boolean): Promise<number> {
  return round(engine, withStore, async (backend, queue) => {
    const signal = new StartSignal();
    const task = noopTask(backend, queue, signal.started);
    await task.enqueue({ i: -1 });
    const worker = await startWorker({ tasks: [task], backend, concurrency: CONCURRENCY });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const idle = () => new Promise<void>((resolve) => setTimeout(resolve, 5));
    const samples = await enqueueToStart(LATENCY_SAMPLES, signal, (i) => task.enqueue({ i }), idle);
    await worker.close();
    return percentile(samples, 50);
  });
}

/**
 * The scenarios, each through the engine alone (`raw`) and with `store` beside it (`taskport`).
 * Call it once per run: the store's benchmark file exports what it returns.
 */
export function storeScenarios(store: StoreUnderTest): Scenario[] {
  storeUnderTest = store;
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
    {
      name: `${engine.name}: enqueue-to-start p50, idle worker`,
      unit: "ms",
      higherIsBetter: false,
      raw: () => latency(engine, false),
      taskport: () => latency(engine, true),
    },
  ]);
}

/** Close both arms of each engine and the emulator, then remove the store's namespace. */
export async function closeStoreBench(): Promise<void> {
  for (const [engine, arms] of opened) {
    await arms.alone.close();
    await arms.stored.close();
    await engine.close();
  }
  opened.clear();
  await storeUnderTest?.drop();
}
