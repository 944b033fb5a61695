import type { Adapter, Capabilities, Delivery } from "../../src/index.ts";

/**
 * An engine as a broker is: the memory engine with results, cancel, deduplication and progress
 * taken away, so a job store must provide them. Tests the store layer without a server. With
 * `{ onlyProgress: true }`, an engine as pg-boss is: it keeps everything but progress.
 */
export function asBroker(engine: Adapter, options: { onlyProgress?: boolean } = {}): Adapter {
  const capabilities: Capabilities = Object.freeze({
    ...engine.capabilities,
    ...(options.onlyProgress ? {} : { results: false, cancel: false, deduplication: false, transactions: false }),
    progress: false,
  });
  return {
    name: engine.name,
    capabilities,
    enqueue: (jobs, context) => engine.enqueue(jobs, context),
    consume: (options, handler) =>
      engine.consume(options, (delivery) => {
        const { progress: _none, ...plain }: Delivery = {
          id: delivery.id,
          name: delivery.name,
          queue: delivery.queue,
          payload: delivery.payload,
          attempt: delivery.attempt,
          maxAttempts: delivery.maxAttempts,
          ...(delivery.timeoutMs !== undefined ? { timeoutMs: delivery.timeoutMs } : {}),
          ...(delivery.signal !== undefined ? { signal: delivery.signal } : {}),
          ...(delivery.headers !== undefined ? { headers: delivery.headers } : {}),
        };
        return handler(plain);
      }),
    close: () => engine.close(),
    // An engine as pg-boss is keeps its jobs' status, cancel and change feed.
    ...(options.onlyProgress && engine.getJob ? { getJob: engine.getJob.bind(engine) } : {}),
    ...(options.onlyProgress && engine.cancel ? { cancel: engine.cancel.bind(engine) } : {}),
    ...(options.onlyProgress && engine.watch ? { watch: engine.watch.bind(engine) } : {}),
    // Inspection stays the engine's: a broker can count and move its messages.
    ...(engine.listDeadLetters ? { listDeadLetters: engine.listDeadLetters.bind(engine) } : {}),
    ...(engine.stats ? { stats: engine.stats.bind(engine) } : {}),
    ...(engine.listJobs ? { listJobs: engine.listJobs.bind(engine) } : {}),
    ...(engine.redrive ? { redrive: engine.redrive.bind(engine) } : {}),
    ...(engine.discardDeadLetters ? { discardDeadLetters: engine.discardDeadLetters.bind(engine) } : {}),
    ...(engine.pause ? { pause: engine.pause.bind(engine) } : {}),
    ...(engine.resume ? { resume: engine.resume.bind(engine) } : {}),
  };
}
