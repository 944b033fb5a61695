import {
  type Attributes,
  context,
  type MeterProvider,
  metrics,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  type TracerProvider,
  trace,
} from "@opentelemetry/api";
import { type Backend, configuredBackends, type Instrumentation, type Settlement } from "@taskport/core";

export interface OpenTelemetryOptions {
  /** Default: the global tracer provider (the one your SDK set up). */
  readonly tracerProvider?: TracerProvider;
  /** Default: the global meter provider. */
  readonly meterProvider?: MeterProvider;
  /**
   * Backends whose queues the `taskport.queue.depth` gauge reports, read with `stats()` when the
   * metrics are collected. Default: every configured backend whose engine has queue stats.
   */
  readonly backends?: () => readonly Backend[];
}

const SCOPE = "@taskport/opentelemetry";
/** Where the enqueue time travels, so a worker can measure how long the job waited. */
const ENQUEUED_AT = "taskport-enqueued-at";

/**
 * Tracing and metrics for every engine, following OpenTelemetry's messaging conventions:
 * a `send <queue>` PRODUCER span per enqueue, whose context travels in the jobs' headers, and a
 * `process <queue>` CONSUMER span per attempt, child of it — so the handler's own spans join the
 * trace of the request that enqueued the job. Register it once:
 *
 * ```ts
 * configure({ backends: { default: url }, instrumentations: [openTelemetry()] });
 * ```
 */
export function openTelemetry(options: OpenTelemetryOptions = {}): Instrumentation {
  const tracer = (options.tracerProvider ?? trace.getTracerProvider()).getTracer(SCOPE);
  const meter = (options.meterProvider ?? metrics.getMeterProvider()).getMeter(SCOPE);
  const sent = meter.createCounter("messaging.client.sent.messages", { description: "Jobs handed to the engine", unit: "{message}" });
  const started = meter.createCounter("taskport.jobs.started", { description: "Attempts started", unit: "{attempt}" });
  const succeeded = meter.createCounter("taskport.jobs.succeeded", { description: "Jobs that succeeded", unit: "{job}" });
  const failed = meter.createCounter("taskport.jobs.failed", {
    description: "Attempts that failed (retried or for good)",
    unit: "{attempt}",
  });
  const duration = meter.createHistogram("messaging.process.duration", { description: "Handler duration", unit: "s" });
  const waited = meter.createHistogram("taskport.job.wait_time", { description: "From enqueue to the start of an attempt", unit: "s" });
  const depth = meter.createObservableGauge("taskport.queue.depth", { description: "Jobs per queue and status", unit: "{job}" });
  depth.addCallback(async (result) => {
    const backends = options.backends?.() ?? configuredBackends();
    for (const backend of backends) {
      const adapter = await backend.adapter().catch(() => undefined);
      if (!adapter?.capabilities.stats) continue;
      const stats = await backend.stats().catch(() => []);
      for (const queue of stats) {
        for (const [status, count] of Object.entries(queue.counts)) {
          result.observe(count, {
            "messaging.system": adapter.name,
            "messaging.destination.name": queue.queue,
            "taskport.job.status": status,
          });
        }
      }
    }
  });

  return {
    enqueue(batch) {
      const attributes: Attributes = {
        "messaging.system": batch.engine,
        "messaging.operation.name": "send",
        "messaging.operation.type": "send",
        "messaging.destination.name": batch.queue,
        "taskport.task.name": batch.taskName,
      };
      if (batch.jobs.length === 1) attributes["messaging.message.id"] = batch.jobs[0]?.id;
      else attributes["messaging.batch.message_count"] = batch.jobs.length;
      const span = tracer.startSpan(`send ${batch.queue}`, { kind: SpanKind.PRODUCER, attributes });
      if (batch.carriesHeaders) {
        const sending = trace.setSpan(context.active(), span);
        const now = String(Date.now());
        for (const job of batch.jobs) {
          propagation.inject(sending, job.headers);
          job.headers[ENQUEUED_AT] = now;
        }
      }
      return (error) => {
        if (error)
          fail(span, error instanceof Error ? { name: error.name, message: error.message } : { name: "Error", message: String(error) });
        else sent.add(batch.jobs.length, { "messaging.system": batch.engine, "messaging.destination.name": batch.queue });
        span.end();
      };
    },

    async attempt({ engine, delivery }, run): Promise<Settlement> {
      const headers = delivery.headers ?? {};
      const parent = propagation.extract(ROOT_CONTEXT, headers);
      const metricAttributes: Attributes = {
        "messaging.system": engine,
        "messaging.destination.name": delivery.queue,
        "taskport.task.name": delivery.name,
      };
      const span = tracer.startSpan(
        `process ${delivery.queue}`,
        {
          kind: SpanKind.CONSUMER,
          attributes: {
            ...metricAttributes,
            "messaging.operation.name": "process",
            "messaging.operation.type": "process",
            "messaging.message.id": delivery.id,
            "taskport.job.attempt": delivery.attempt,
            "taskport.job.max_attempts": delivery.maxAttempts,
          },
        },
        parent,
      );
      started.add(1, metricAttributes);
      const enqueuedAt = Number(headers[ENQUEUED_AT]);
      if (Number.isFinite(enqueuedAt)) waited.record(Math.max(0, Date.now() - enqueuedAt) / 1_000, metricAttributes);
      const begin = performance.now();
      try {
        const settlement = await context.with(trace.setSpan(parent, span), run);
        if (settlement.status === "succeeded") {
          succeeded.add(1, metricAttributes);
        } else {
          failed.add(1, { ...metricAttributes, "taskport.job.retried": settlement.retryInMs !== undefined });
          fail(span, settlement.error);
          if (settlement.retryInMs !== undefined) span.setAttribute("taskport.job.retry_in_ms", settlement.retryInMs);
        }
        return settlement;
      } finally {
        duration.record((performance.now() - begin) / 1_000, metricAttributes);
        span.end();
      }
    },
  };
}

function fail(span: Span, error: { name: string; message: string }): void {
  span.addEvent("exception", { "exception.type": error.name, "exception.message": error.message });
  span.setStatus({ code: SpanStatusCode.ERROR, message: error.message });
}
