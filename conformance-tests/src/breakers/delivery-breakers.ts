import type { Delivery, NewJob, Settlement } from "@taskport/core";
import { type Breaker, forward } from "./breaker.ts";

/** A delivery with some fields replaced; the rest read from the engine's. */
function changed(delivery: Delivery, fields: Partial<Delivery>): Delivery {
  const copy: Record<string, unknown> = {
    id: delivery.id,
    name: delivery.name,
    queue: delivery.queue,
    payload: delivery.payload,
    attempt: delivery.attempt,
    maxAttempts: delivery.maxAttempts,
  };
  if (delivery.timeoutMs !== undefined) copy.timeoutMs = delivery.timeoutMs;
  if (delivery.headers !== undefined) copy.headers = delivery.headers;
  if (delivery.signal !== undefined) copy.signal = delivery.signal;
  if (delivery.progress) copy.progress = delivery.progress.bind(delivery);
  return { ...(copy as unknown as Delivery), ...fields };
}

/** Breakers of what happens between the engine and the handler. */
export const DELIVERY_BREAKERS: readonly Breaker[] = [
  {
    name: "ack-before-run",
    obligation: "the adapter makes each Settlement durable: a job is done only when its handler has settled it",
    caughtBy: "retries",
    wrap: (adapter) =>
      forward(adapter, {
        consume: (options, handler) =>
          adapter.consume(options, async (delivery) => {
            void handler(delivery);
            return { status: "succeeded", result: null, resultJson: "null" };
          }),
      }),
  },
  {
    name: "early-delivery",
    obligation: "a job must reach the handler no earlier than its runAt",
    caughtBy: "delay",
    applies: (caps) => caps.delay,
    wrap: (adapter) =>
      forward(adapter, {
        enqueue: (jobs, context) =>
          adapter.enqueue(
            jobs.map(({ runAt: _runAt, ...job }): NewJob => job),
            context,
          ),
      }),
  },
  {
    name: "ignored-priority",
    obligation: "priority is honoured: higher runs first",
    caughtBy: "priority",
    applies: (caps) => caps.priority,
    wrap: (adapter) =>
      forward(adapter, {
        enqueue: (jobs, context) =>
          adapter.enqueue(
            jobs.map((job) => ({ ...job, priority: 0 })),
            context,
          ),
      }),
  },
  {
    name: "lost-retry-delay",
    obligation: "a failed attempt with retryInMs runs again no sooner than retryInMs later",
    caughtBy: "retries",
    wrap: (adapter) =>
      forward(adapter, {
        consume: (options, handler) =>
          adapter.consume(options, async (delivery) => {
            const settlement = await handler(delivery);
            return settlement.status === "failed" && settlement.retryInMs !== undefined ? { ...settlement, retryInMs: 0 } : settlement;
          }),
      }),
  },
  {
    name: "fetch-past-free-slots",
    obligation: "a worker holds no more jobs than it has free slots: a handler deaf to its timeout keeps its slot (Settlement.slotFreed)",
    caughtBy: "timeouts",
    // As an adapter that frees its slot when the job settles: it fetches the next job, which waits
    // in this worker for the slot, held from every other.
    wrap: (adapter) =>
      forward(adapter, {
        consume: (options, handler) =>
          adapter.consume(options, async (delivery) => {
            const { slotFreed: _ignored, ...settlement } = await handler(delivery);
            return settlement;
          }),
      }),
  },
  {
    name: "attempt-not-counted",
    obligation: "Delivery.attempt is 1 for the first run, 2 for the first retry, …",
    caughtBy: "retries",
    wrap: (adapter) =>
      forward(adapter, {
        consume: (options, handler) => adapter.consume(options, (delivery) => handler(changed(delivery, { attempt: 1 }))),
      }),
  },
  {
    name: "payload-altered",
    obligation: "the handler receives the payload exactly as enqueued (its JSON text, key order included)",
    caughtBy: "roundTrip",
    wrap: (adapter) =>
      forward(adapter, {
        consume: (options, handler) =>
          adapter.consume(options, (delivery) => handler(changed(delivery, { payload: sortKeys(delivery.payload) }))),
      }),
  },
  {
    name: "headers-lost",
    obligation: "headers travel with each job to its handler",
    caughtBy: "headers",
    applies: (caps) => caps.headers === true,
    wrap: (adapter) =>
      forward(adapter, {
        consume: (options, handler) =>
          adapter.consume(options, (delivery) => {
            const { headers: _lost, ...rest } = changed(delivery, {});
            return handler(rest as Delivery);
          }),
      }),
  },
  {
    name: "progress-not-stored",
    obligation: "ctx.progress(value) is stored and readable through the job's handle",
    caughtBy: "progress",
    applies: (caps) => caps.progress && caps.results,
    wrap: (adapter) =>
      forward(adapter, {
        consume: (options, handler) => adapter.consume(options, (delivery) => handler(changed(delivery, { progress: async () => {} }))),
      }),
  },
  {
    name: "result-not-stored",
    obligation: "a succeeded job's result is stored and returned by wait()",
    caughtBy: "results",
    applies: (caps) => caps.results,
    wrap: (adapter) =>
      forward(adapter, {
        consume: (options, handler) =>
          adapter.consume(options, async (delivery): Promise<Settlement> => {
            const settlement = await handler(delivery);
            return settlement.status === "succeeded" ? { status: "succeeded", result: null, resultJson: "null" } : settlement;
          }),
      }),
  },
];

/** The same JSON with object keys sorted: what a JSONB column does to a payload. */
function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== "object") return value;
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((key) => [key, sortKeys((value as Record<string, unknown>)[key])]),
  );
}
