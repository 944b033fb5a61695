import { randomBytes } from "node:crypto";
import { type Adapter, Backend, defineTask, MemoryAdapter, type OutboxAdapter, startWorker, type Worker, withOutbox } from "@taskport/core";
import { testOutbox } from "./pairs.ts";
import { deleteRowsOf } from "./support.ts";

const RUN = randomBytes(3).toString("hex");
let counter = 0;

/**
 * What one of this package's own tests opens: outbox adapters on one target of its own (over the
 * in-process memory engine unless told otherwise), workers, a backend; all closed by `cleanup()`.
 */
export class OutboxScope {
  readonly target = `tpo${RUN}${++counter}`;
  readonly #opened: { close(): Promise<void> }[] = [];
  readonly #workers: Worker[] = [];

  /** An engine with an outbox on this scope's target: another one is another process, as far as PostgreSQL can tell. */
  adapter(engine: Adapter = new MemoryAdapter(), options: { pollMs?: number; batchSize?: number } = {}): OutboxAdapter {
    const adapter = withOutbox(engine, testOutbox(this.target), { target: this.target, pollMs: 200, ...options });
    this.#opened.push(adapter);
    return adapter;
  }

  /** A task on a backend over `adapter`, recording the ids of the jobs it runs. */
  task(adapter: Adapter, queue = "main") {
    const runs = new Map<string, number>();
    const backend = new Backend(this.target, adapter);
    const task = defineTask(
      "outbox-test",
      async (_payload: { n: number }, ctx) => {
        runs.set(ctx.jobId, (runs.get(ctx.jobId) ?? 0) + 1);
        return ctx.jobId;
      },
      { queue: `${this.target}-${queue}` },
    ).using({ backend });
    return { task, backend, runs };
  }

  async worker(...args: Parameters<typeof startWorker>): Promise<Worker> {
    const worker = await startWorker(...args);
    this.#workers.push(worker);
    return worker;
  }

  track<T extends { close(): Promise<void> }>(thing: T): T {
    this.#opened.push(thing);
    return thing;
  }

  async cleanup(): Promise<void> {
    await Promise.allSettled(this.#workers.splice(0).map((worker) => worker.close({ graceMs: 0 })));
    for (const thing of this.#opened.splice(0).reverse()) await thing.close().catch(() => {});
    await deleteRowsOf(this.target);
  }
}
