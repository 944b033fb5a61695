import { createHash, randomBytes } from "node:crypto";
import {
  type Adapter,
  type AnyTask,
  Backend,
  type BackendOptions,
  defineTask,
  type JsonGuard,
  type Task,
  type TaskHandler,
  type TaskOptions,
  Worker,
  type WorkerOptions,
} from "@taskport/core";
import { TcpRelay } from "../faults/tcp-relay.ts";
import type { AdapterContext, ConformanceOptions } from "../harness.ts";

const RUN_ID = randomBytes(3).toString("hex");

/**
 * Everything one test needs, with its own queue names (from a hash of the test's name and a run
 * id, so tests can run side by side and against a shared server) and cleanup of what it opened.
 */
export class Fixture {
  readonly testId: string;
  readonly #options: ConformanceOptions;
  readonly #adapters: Adapter[] = [];
  readonly #workers: Worker[] = [];
  readonly #queues = new Set<string>();
  readonly #relays: TcpRelay[] = [];
  #backend: Backend | undefined;

  constructor(options: ConformanceOptions, testName: string) {
    this.#options = options;
    const hash = createHash("sha1").update(`${options.name}/${testName}`).digest("hex").slice(0, 8);
    this.testId = `tp${RUN_ID}${hash}`;
  }

  /** Name of the adapter under test (as it appears in error messages). */
  get adapterName(): string {
    return this.#adapters[0]?.name ?? this.#options.name;
  }

  /** A queue name unique to this test. */
  queue(suffix = "main"): string {
    const name = `${this.testId}-${suffix}`;
    this.#queues.add(name);
    return name;
  }

  async adapter(extra: Partial<AdapterContext> = {}): Promise<Adapter> {
    const adapter = await this.#options.createAdapter({ testId: this.testId, ...extra });
    this.#adapters.push(adapter);
    return adapter;
  }

  /**
   * A backend over an adapter whose engine connections go through a fresh `TcpRelay` (needs
   * `harness.connectVia`); the relay is closed with the test.
   */
  async backendViaRelay(
    options: Omit<BackendOptions, "url" | "adapter"> = {},
  ): Promise<{ backend: Backend; relay: TcpRelay; adapter: Adapter }> {
    const via = this.#options.harness?.connectVia;
    if (!via) throw new Error("[taskport] conformance: this test needs harness.connectVia");
    const relay = await TcpRelay.start(via.engine);
    this.#relays.push(relay);
    const adapter = await via.createAdapter({ testId: this.testId }, relay.address);
    this.#adapters.push(adapter);
    return { backend: new Backend(`${this.testId}-relayed`, { adapter, ...options }), relay, adapter };
  }

  /**
   * The test's backend, over a fresh adapter; with `options` (a retention, say), a new backend of
   * its own over another adapter.
   */
  async backend(options?: Omit<BackendOptions, "url" | "adapter">): Promise<Backend> {
    if (options) return new Backend(`${this.testId}-custom`, { adapter: await this.adapter(), ...options });
    this.#backend ??= new Backend(this.testId, await this.adapter());
    return this.#backend;
  }

  /** Another backend over another adapter: a second process, as far as the engine can tell. */
  async otherBackend(extra: Partial<AdapterContext> = {}): Promise<Backend> {
    return new Backend(`${this.testId}-other`, await this.adapter(extra));
  }

  /** Define a task bound to this test's backend (or `on`) and main queue. */
  async task<P, R>(
    name: string,
    handler: TaskHandler<P, R> & JsonGuard<P, Awaited<R>>,
    options: TaskOptions = {},
    on?: Backend,
  ): Promise<Task<P, Awaited<R>>> {
    const backend = on ?? (await this.backend());
    return defineTask(name, handler, { queue: this.queue(), ...options }).using({ backend });
  }

  /**
   * Start a worker. `listen` attaches listeners before it starts: an engine may run a waiting job
   * before `start()` resolves.
   */
  async worker(options: Omit<WorkerOptions, "backend"> & { backend?: Backend; listen?: (worker: Worker) => void }): Promise<Worker> {
    const { listen, ...rest } = options;
    const worker = new Worker({ ...rest, tasks: rest.tasks as AnyTask[], backend: rest.backend ?? (await this.backend()) });
    listen?.(worker);
    this.#workers.push(worker);
    return worker.start();
  }

  async cleanup(passed: boolean): Promise<void> {
    // Relays pass again first, so that closing workers and adapters can reach the engine; one whose
    // connection is still black-holed is freed after a while by closing the relays.
    await Promise.allSettled(this.#relays.map((relay) => relay.restore()));
    const closing = (async () => {
      await Promise.allSettled(this.#workers.map((worker) => worker.close({ graceMs: 0 })));
      await Promise.allSettled(this.#adapters.map((adapter) => adapter.close()));
    })();
    if (this.#relays.length > 0) {
      await Promise.race([closing, new Promise((resolve) => setTimeout(resolve, 5_000).unref())]);
      await Promise.allSettled(this.#relays.map((relay) => relay.close()));
    }
    await closing;
    if (passed) await this.#options.harness?.cleanup?.(this.testId, [...this.#queues]);
  }
}
