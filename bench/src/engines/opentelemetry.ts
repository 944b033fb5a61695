/**
 * What `openTelemetry()` costs, per engine: the same end-to-end run with no instrumentation and
 * with `openTelemetry()` over the OpenTelemetry SDK (async-hooks context, W3C propagation, a batch
 * span processor and a metric reader whose exporters discard everything), side by side in one run.
 * Each job is enqueued by a call of its own (50 in flight) while a worker (concurrency 50) runs
 * them, so every job gets its own send span, trace headers and process span — the worst case;
 * `enqueueMany` makes one send span per batch.
 *
 * The "no instrumentation" arm is also what an app without `@opentelemetry/api` runs: core does not
 * import it, and with no instrumentation registered an enqueue and an attempt each check one empty
 * list (`instrumentations().length === 0`) and call nothing else.
 *
 * `BENCH_OTEL_ENGINES` (comma-separated; default every engine here) and `BENCH_OTEL_JOBS` (jobs
 * per round for every engine; default per engine) choose the work.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { context, propagation } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { ExportResultCode, W3CTraceContextPropagator } from "@opentelemetry/core";
import { MeterProvider, PeriodicExportingMetricReader, type PushMetricExporter } from "@opentelemetry/sdk-metrics";
import { BatchSpanProcessor, type SpanExporter, TracerProvider } from "@opentelemetry/sdk-trace";
import { BeeQueueAdapter } from "@taskport/bee-queue";
import { BullMQAdapter } from "@taskport/bullmq";
import { type Adapter, Backend, defineTask, MemoryAdapter, setInstrumentations, startWorker } from "@taskport/core";
import { openTelemetry } from "@taskport/opentelemetry";
import { PgBossAdapter } from "@taskport/pg-boss";
import { RabbitMQAdapter } from "@taskport/rabbitmq";
import { SqliteAdapter } from "@taskport/sqlite";
import { SqsAdapter } from "@taskport/sqs";
import { connect } from "amqplib";
import { Redis } from "ioredis";
import pg from "pg";
import type { Scenario } from "../harness.ts";
import { countdown, inParallel, perSecond } from "../harness.ts";
import { startEmulator } from "./sqs.ts";

export const title = "end to end per engine, without instrumentation and with openTelemetry() over the SDK (exporters discard)";
export const arms = ["no instrumentation", "+ openTelemetry()"] as const;

const CONCURRENCY = 50;
const QUEUE = `tpbench-otel-${process.pid}`;
const REDIS = { host: "127.0.0.1", port: 6379 };
const REDIS_PREFIX = "tpbench-otel";
const PG_URL = process.env.TASKPORT_PG_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const PG_SCHEMA = "tpbench_otel";
const AMQP_URL = process.env.TASKPORT_AMQP_URL ?? "amqp://guest:guest@127.0.0.1:5672";

/** Exporters that take everything and keep nothing: the SDK's own work is measured, no I/O. */
const discardSpans: SpanExporter = {
  export: (_spans, done) => done({ code: ExportResultCode.SUCCESS }),
  shutdown: async () => {},
};
const discardMetrics: PushMetricExporter = {
  export: (_metrics, done) => done({ code: ExportResultCode.SUCCESS }),
  forceFlush: async () => {},
  shutdown: async () => {},
};
const tracerProvider = new TracerProvider({ spanProcessors: [new BatchSpanProcessor({ exporter: discardSpans })] });
const meterProvider = new MeterProvider({
  readers: [new PeriodicExportingMetricReader({ exporter: discardMetrics, exportIntervalMillis: 10_000 })],
});
const contextManager = new AsyncLocalStorageContextManager();
/** Made once, as an app registers it once: its instruments are created once. */
let instrumentation: ReturnType<typeof openTelemetry> | undefined;

let sqliteDir: string | undefined;
let fauxqs: Awaited<ReturnType<typeof startEmulator>> | undefined;

interface Engine {
  readonly name: string;
  readonly jobs: number;
  create(): Promise<Adapter>;
  drop?(): Promise<void>;
}

const ENGINES: readonly Engine[] = [
  { name: "memory", jobs: 20_000, create: async () => new MemoryAdapter({ retainFinished: 1_000 }) },
  {
    name: "sqlite",
    jobs: 2_000,
    create: async () => {
      sqliteDir ??= mkdtempSync(join(tmpdir(), "tpbench-otel-"));
      return new SqliteAdapter({ filename: join(sqliteDir, "jobs.db") });
    },
  },
  {
    name: "bullmq",
    jobs: 2_000,
    create: async () => new BullMQAdapter({ redis: REDIS, prefix: REDIS_PREFIX, clientName: "tp-bench-otel" }),
    drop: () => deleteRedisKeys(REDIS_PREFIX),
  },
  {
    name: "bee-queue",
    jobs: 2_000,
    create: async () => new BeeQueueAdapter({ redis: REDIS, prefix: `${REDIS_PREFIX}-bq`, clientName: "tp-bench-otel" }),
    drop: () => deleteRedisKeys(`${REDIS_PREFIX}-bq`),
  },
  {
    name: "pg-boss",
    jobs: 1_000,
    create: async () => new PgBossAdapter({ connectionString: PG_URL, schema: PG_SCHEMA, applicationName: "tp-bench-otel" }),
    drop: async () => {
      const client = new pg.Client({ connectionString: PG_URL });
      await client.connect();
      await client.query(`DROP SCHEMA IF EXISTS ${PG_SCHEMA} CASCADE`);
      await client.end();
    },
  },
  {
    name: "rabbitmq",
    jobs: 2_000,
    create: async () => new RabbitMQAdapter({ url: AMQP_URL, connectionName: "tp-bench-otel" }),
    drop: async () => {
      const model = await connect(AMQP_URL);
      const channel = await model.createChannel();
      await channel.deleteQueue(QUEUE);
      await channel.deleteQueue(`${QUEUE}.dead`);
      await model.close();
    },
  },
  {
    name: "sqs",
    jobs: 1_000,
    create: async () => {
      fauxqs ??= await startEmulator();
      return new SqsAdapter({
        endpoint: fauxqs.endpoint,
        region: "us-east-1",
        credentials: { accessKeyId: "bench", secretAccessKey: "bench" },
        createQueues: true,
        // A worker's close waits for its long polls: short ones keep a round's end short (both arms alike).
        waitTimeSeconds: 1,
      });
    },
  },
];

async function deleteRedisKeys(prefix: string): Promise<void> {
  const client = new Redis(REDIS);
  for await (const keys of client.scanStream({ match: `${prefix}:*`, count: 1_000 })) {
    if ((keys as string[]).length > 0) await client.unlink(...(keys as string[]));
  }
  client.disconnect();
}

const backends = new Map<string, Promise<Backend>>();

/** One backend per engine for the whole run, so that both arms use connections already open. */
function backendOf(engine: Engine): Promise<Backend> {
  let backend = backends.get(engine.name);
  if (!backend) {
    backend = engine.create().then((adapter) => new Backend(`bench-otel-${engine.name}`, adapter));
    backends.set(engine.name, backend);
  }
  return backend;
}

/** Jobs per second from the first enqueue to the last job's end, each job enqueued by a call of its own. */
async function endToEnd(engine: Engine, jobs: number, instrumented: boolean): Promise<number> {
  instrumentation ??= openTelemetry({ tracerProvider, meterProvider });
  setInstrumentations(instrumented ? [instrumentation] : []);
  const backend = await backendOf(engine);
  const finished = countdown(jobs);
  const noop = defineTask("noop", async (_: { i: number }) => finished.tick(), { queue: QUEUE }).using({ backend });
  const worker = await startWorker({ tasks: [noop], backend, concurrency: CONCURRENCY });
  const start = performance.now();
  await inParallel(jobs, CONCURRENCY, (i) => noop.enqueue({ i }));
  await finished.done;
  const elapsed = performance.now() - start;
  await worker.close();
  setInstrumentations([]);
  return perSecond(jobs, elapsed);
}

export function scenarios(): Scenario[] {
  context.setGlobalContextManager(contextManager.enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  const wanted = process.env.BENCH_OTEL_ENGINES?.split(",").map((name) => name.trim());
  return ENGINES.filter((engine) => !wanted || wanted.includes(engine.name)).map((engine) => {
    const jobs = Number(process.env.BENCH_OTEL_JOBS ?? engine.jobs);
    return {
      name: `${engine.name}: end-to-end, concurrency ${CONCURRENCY} (${jobs.toLocaleString("en-US")} jobs)`,
      unit: "jobs/s",
      higherIsBetter: true,
      raw: () => endToEnd(engine, jobs, false),
      taskport: () => endToEnd(engine, jobs, true),
    };
  });
}

export async function teardown(): Promise<void> {
  for (const [name, backend] of backends) {
    await (await backend).close();
    await ENGINES.find((engine) => engine.name === name)?.drop?.();
  }
  await tracerProvider.shutdown();
  await meterProvider.shutdown();
  fauxqs?.child.kill();
  fauxqs = undefined;
  if (sqliteDir) rmSync(sqliteDir, { recursive: true, force: true });
}
