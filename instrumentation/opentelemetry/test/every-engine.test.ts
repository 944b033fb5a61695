import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { context, propagation, SpanKind } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from "@opentelemetry/sdk-trace";
import { BeeQueueAdapter } from "@taskport/bee-queue";
import { BullMQAdapter } from "@taskport/bullmq";
import { type Adapter, Backend, defineTask, MemoryAdapter, setInstrumentations, startWorker } from "@taskport/core";
import { NatsAdapter } from "@taskport/nats";
import { PgBossAdapter } from "@taskport/pg-boss";
import { RabbitMQAdapter } from "@taskport/rabbitmq";
import { SqliteAdapter } from "@taskport/sqlite";
import { SqsAdapter } from "@taskport/sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deleteStreams, NATS_URL } from "../../../adapters/nats/test/support.ts";
import { CONFORMANCE_SCHEMA, DATABASE_URL } from "../../../adapters/pg-boss/test/support.ts";
import { AMQP_URL, deleteQueues } from "../../../adapters/rabbitmq/test/support.ts";
import { tempFolder } from "../../../adapters/sqlite/test/support.ts";
import { CREDENTIALS, Emulator, REGION } from "../../../adapters/sqs/test/support.ts";
import { openTelemetry } from "../src/index.ts";

// The trace of one job on every engine: the request's span → the enqueue's send span → the
// worker's process span → the handler's own span. A loop here rather than a conformance group:
// what it proves needs the OpenTelemetry SDK, which @taskport/conformance (installed by adapter
// authors) should not depend on; that headers reach the handler on every engine is the
// conformance suite's headers group already.

const spans = new InMemorySpanExporter();
const tracerProvider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter: spans })] });
const contextManager = new AsyncLocalStorageContextManager();
const emulator = new Emulator();
const sqliteFolder = tempFolder("otel");
const REDIS = { host: "127.0.0.1", port: 6379 };

interface Engine {
  readonly name: string;
  create(): Adapter;
  cleanup?(queue: string): Promise<void>;
}

const ENGINES: readonly Engine[] = [
  { name: "memory", create: () => new MemoryAdapter() },
  { name: "sqlite", create: () => new SqliteAdapter({ filename: join(sqliteFolder, "jobs.db") }) },
  { name: "bullmq", create: () => new BullMQAdapter({ redis: REDIS, prefix: "tpbull", clientName: "tp-otel" }) },
  { name: "bee-queue", create: () => new BeeQueueAdapter({ redis: REDIS, prefix: "tpbq", clientName: "tp-otel" }) },
  {
    name: "pg-boss",
    create: () => new PgBossAdapter({ connectionString: DATABASE_URL, schema: CONFORMANCE_SCHEMA, applicationName: "tp-otel" }),
  },
  {
    name: "rabbitmq",
    create: () => new RabbitMQAdapter({ url: AMQP_URL, connectionName: "tp-otel" }),
    cleanup: (queue) => deleteQueues([queue]),
  },
  {
    name: "sqs",
    // A short long-poll, so that the worker stops within a second.
    create: () =>
      new SqsAdapter({ endpoint: emulator.endpoint, region: REGION, credentials: CREDENTIALS, createQueues: true, waitTimeSeconds: 1 }),
    cleanup: (queue) => emulator.deleteQueues([queue], false),
  },
  {
    name: "nats",
    create: () => new NatsAdapter({ url: NATS_URL, pullExpiresMs: 1_000 }),
    cleanup: (queue) => deleteStreams([queue]),
  },
];

beforeAll(async () => {
  context.setGlobalContextManager(contextManager.enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  setInstrumentations([openTelemetry({ tracerProvider })]);
  await emulator.start();
});

afterAll(async () => {
  setInstrumentations([]);
  context.disable();
  propagation.disable();
  await tracerProvider.shutdown();
  await emulator.stop();
});

describe("openTelemetry() on every engine", () => {
  for (const engine of ENGINES) {
    it(`${engine.name}: an HTTP request's span → send → process → the handler's span, one trace`, async (ctx) => {
      const backend = new Backend(`otel-${engine.name}`, engine.create());
      const queue = `otel_${engine.name.replace("-", "_")}_${randomBytes(4).toString("hex")}`;
      const problems = await (await backend.adapter()).check?.();
      if (problems && problems.length > 0) {
        const message = `${engine.name} is not reachable: ${problems.map((p) => p.message).join("; ")}`;
        await backend.close();
        if (process.env.CI === "true") throw new Error(message);
        console.warn(`[taskport] SKIPPING the ${engine.name} trace test: ${message}`);
        return ctx.skip();
      }
      spans.reset();
      const tracer = tracerProvider.getTracer("app");
      let handled!: () => void;
      const done = new Promise<void>((resolve) => {
        handled = resolve;
      });
      const task = defineTask(
        "send-mail",
        async () => {
          tracer.startActiveSpan("smtp", (span) => span.end());
          handled();
        },
        { queue },
      ).using({ backend });
      const worker = await startWorker({ tasks: [task], backend });
      try {
        const handle = await tracer.startActiveSpan("GET /signup", { kind: SpanKind.SERVER }, async (span) => {
          try {
            return await task.enqueue(undefined);
          } finally {
            span.end();
          }
        });
        await done;
        await worker.close();

        const finished = spans.getFinishedSpans();
        const http = finished.find((s) => s.name === "GET /signup");
        const send = finished.find((s) => s.name === `send ${queue}`);
        const process = finished.find((s) => s.name === `process ${queue}`);
        const smtp = finished.find((s) => s.name === "smtp" && s.parentSpanContext?.spanId === process?.spanContext().spanId);
        expect(send?.parentSpanContext?.spanId).toBe(http?.spanContext().spanId);
        expect(process?.parentSpanContext?.spanId).toBe(send?.spanContext().spanId);
        expect(smtp).toBeDefined();
        expect(new Set([http, send, process, smtp].map((s) => s?.spanContext().traceId)).size).toBe(1);
        expect(send?.attributes["messaging.system"]).toBe(engine.name);
        expect(process?.attributes["messaging.message.id"]).toBe(handle.id);
      } finally {
        await worker.close();
        await backend.close();
        await engine.cleanup?.(queue);
      }
    }, 30_000);
  }
});
