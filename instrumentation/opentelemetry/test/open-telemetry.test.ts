import { context, propagation, SpanKind, SpanStatusCode } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader } from "@opentelemetry/sdk-metrics";
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from "@opentelemetry/sdk-trace";
import { Backend, defineTask, MemoryAdapter, setInstrumentations, startWorker } from "@taskport/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openTelemetry } from "../src/index.ts";

const spans = new InMemorySpanExporter();
const tracerProvider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter: spans })] });
const metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
const reader = new PeriodicExportingMetricReader({ exporter: metricExporter, exportIntervalMillis: 60_000 });
const meterProvider = new MeterProvider({ readers: [reader] });
const contextManager = new AsyncLocalStorageContextManager();

beforeAll(() => {
  context.setGlobalContextManager(contextManager.enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
});

afterAll(async () => {
  setInstrumentations([]);
  context.disable();
  propagation.disable();
  await tracerProvider.shutdown();
  await meterProvider.shutdown();
});

describe("openTelemetry() on the memory engine", () => {
  it("an HTTP request's span → the enqueue's send span → the worker's process span → the handler's span: one trace", async () => {
    const backend = new Backend("otel", new MemoryAdapter());
    setInstrumentations([openTelemetry({ tracerProvider, meterProvider, backends: () => [backend] })]);
    const tracer = tracerProvider.getTracer("app");
    let handled!: () => void;
    const done = new Promise<void>((resolve) => {
      handled = resolve;
    });
    const sendMail = defineTask(
      "send-mail",
      async (payload: { to: string }) => {
        await tracer.startActiveSpan("smtp", async (span) => {
          span.setAttribute("to", payload.to);
          span.end();
        });
        handled();
      },
      { queue: "mail" },
    ).using({ backend });
    const worker = await startWorker({ tasks: [sendMail], backend });
    const handle = await tracer.startActiveSpan("GET /signup", { kind: SpanKind.SERVER }, async (span) => {
      try {
        return await sendMail.enqueue({ to: "ada@example.com" });
      } finally {
        span.end();
      }
    });
    await done;
    await worker.close();

    const byName = new Map(spans.getFinishedSpans().map((s) => [s.name, s]));
    const http = byName.get("GET /signup");
    const send = byName.get("send mail");
    const process = byName.get("process mail");
    const smtp = byName.get("smtp");
    expect([http, send, process, smtp].every(Boolean)).toBe(true);
    const traceId = http?.spanContext().traceId;
    for (const span of [send, process, smtp]) expect(span?.spanContext().traceId).toBe(traceId);
    expect(send?.parentSpanContext?.spanId).toBe(http?.spanContext().spanId);
    expect(process?.parentSpanContext?.spanId).toBe(send?.spanContext().spanId);
    expect(smtp?.parentSpanContext?.spanId).toBe(process?.spanContext().spanId);
    expect(send?.kind).toBe(SpanKind.PRODUCER);
    expect(process?.kind).toBe(SpanKind.CONSUMER);
    expect(send?.attributes).toMatchObject({
      "messaging.system": "memory",
      "messaging.operation.type": "send",
      "messaging.destination.name": "mail",
      "messaging.message.id": handle.id,
    });
    expect(process?.attributes).toMatchObject({
      "messaging.operation.type": "process",
      "messaging.message.id": handle.id,
      "taskport.job.attempt": 1,
    });
  });

  it("a failed attempt is an error on its span, retries included, and the metrics count every attempt", async () => {
    spans.reset();
    const backend = new Backend("otel-fail", new MemoryAdapter());
    setInstrumentations([openTelemetry({ tracerProvider, meterProvider, backends: () => [backend] })]);
    let attempts = 0;
    let finished!: () => void;
    const over = new Promise<void>((resolve) => {
      finished = resolve;
    });
    const flaky = defineTask(
      "flaky",
      async () => {
        attempts++;
        if (attempts === 1) throw new RangeError("first try fails");
        finished();
      },
      { queue: "flaky", retry: { maxAttempts: 2, delayMs: 5, jitter: 0 } },
    ).using({ backend });
    const worker = await startWorker({ tasks: [flaky], backend });
    await flaky.enqueueMany([undefined]);
    await over;
    await worker.close();
    await flaky.enqueue(undefined); // one waiting job, for the depth gauge

    const processes = spans.getFinishedSpans().filter((s) => s.name === "process flaky");
    expect(processes.map((s) => s.status.code)).toEqual([SpanStatusCode.ERROR, SpanStatusCode.UNSET]);
    expect(processes[0]?.events[0]?.attributes).toMatchObject({ "exception.type": "RangeError", "exception.message": "first try fails" });
    expect(processes[0]?.attributes["taskport.job.retry_in_ms"]).toBe(5);

    await reader.forceFlush();
    const metrics = metricExporter.getMetrics().flatMap((m) => m.scopeMetrics.flatMap((s) => s.metrics));
    const points = (name: string) =>
      metrics
        .filter((m) => m.descriptor.name === name)
        .flatMap((m) => m.dataPoints as { attributes: Record<string, unknown>; value: unknown }[]);
    const sum = (name: string, queue: string) =>
      points(name)
        .filter((p) => p.attributes["messaging.destination.name"] === queue)
        .reduce((total, p) => total + (typeof p.value === "number" ? p.value : 0), 0);
    expect(sum("taskport.jobs.started", "flaky")).toBeGreaterThanOrEqual(2);
    expect(sum("taskport.jobs.failed", "flaky")).toBeGreaterThanOrEqual(1);
    expect(sum("taskport.jobs.succeeded", "flaky")).toBeGreaterThanOrEqual(1);
    expect(sum("messaging.client.sent.messages", "flaky")).toBeGreaterThanOrEqual(2);
    const depth = points("taskport.queue.depth");
    expect(
      depth.find((p) => p.attributes["messaging.destination.name"] === "flaky" && p.attributes["taskport.job.status"] === "queued")?.value,
    ).toBe(1);
    const waits = metrics.find((m) => m.descriptor.name === "taskport.job.wait_time");
    expect(waits?.dataPoints.length).toBeGreaterThan(0);
  });
});
