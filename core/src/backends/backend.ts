import { type Capabilities, type Feature, PRIORITY_DEFAULT } from "../capabilities.ts";
import type { Adapter, CheckProblem, EnqueueContext, JobInfo, JobListOptions, JobPage, NewJob, QueueStats } from "../contract.ts";
import { type EnqueueOptions, validateEnqueueOptions } from "../enqueue-options.ts";
import { ConfigurationError, DeadlineError, PayloadTooLargeError, UnsupportedFeatureError } from "../errors.ts";
import { Emitter, type TaskportEvents } from "../events.ts";
import { type Instrumentation, instrumentations } from "../instrumentation.ts";
import { JobHandle } from "../job-handle.ts";
import { byteLength, encodeJson, type JsonValue } from "../json.ts";
import type { Outbox } from "../outbox/contract.ts";
import { createOutboxFromUrl } from "../outbox/outbox-schemes.ts";
import { type OutboxOptions, withOutbox } from "../outbox/with-outbox.ts";
import { type Retention, resolveRetention } from "../retention.ts";
import { DEFAULT_RETRY } from "../retry-policy.ts";
import type { JobStore } from "../store/contract.ts";
import { createStoreFromUrl } from "../store/store-schemes.ts";
import { type JobStoreOptions, withJobStore } from "../store/with-job-store.ts";
import type { AnyTask } from "../task.ts";
import { deadline, resolveTimeouts, type Timeouts, withTimeoutParams } from "./deadlines.ts";
import { newJobId } from "./job-id.ts";
import { redactSecrets, redactUrl } from "./redact.ts";
import { factoryFor, parseBackendUrl } from "./schemes.ts";

/** How a backend is given to `configure`: a URL, an adapter, or either with options. */
export type BackendSpec = string | Adapter | BackendOptions;

export interface BackendOptions {
  readonly url?: string;
  readonly adapter?: Adapter;
  /**
   * Features to drop silently instead of raising `UnsupportedFeatureError`: an explicit opt-in,
   * for apps that run the same code on engines with different abilities (e.g. priority on a dev box).
   */
  readonly ignoreUnsupported?: readonly Feature[];
  /**
   * A job store beside the engine (a URL such as `postgres://…/app?schema=taskport` or
   * `redis://…`, or a `JobStore`): status, results, cancel, deduplication and progress for engines
   * that lack them. Default: `TASKPORT_STORE_URL` for the default backend, else none.
   */
  readonly store?: string | JobStore;
  /** How long the store keeps finished jobs, and how it claims keys; see `JobStoreOptions`. */
  readonly storeOptions?: JobStoreOptions;
  /**
   * How long finished jobs are kept, by the engine and by the store: `{ succeededMs, failedMs }`.
   * Default: a day for succeeded jobs, a week for failed ones.
   */
  readonly retention?: Partial<Retention>;
  /**
   * An outbox beside the engine (the URL of the PostgreSQL database your transactions run on, or an
   * `Outbox`): `{ transaction }` on any engine, handed over by a relay once committed. Default:
   * `TASKPORT_OUTBOX_URL` for the default backend, else none.
   */
  readonly outbox?: string | Outbox;
  /** How the relay runs (batch size, polling, inside workers or not); see `OutboxOptions`. */
  readonly outboxOptions?: OutboxOptions;
  /**
   * Bounds on every call to the engine's, the store's and the outbox's servers, so that a server
   * that accepts a connection and never answers fails calls instead of holding them:
   * `{ connectMs, operationMs, closeMs }`, default 10 s, 30 s and 10 s (see `Timeouts`). Given to
   * URLs as `connectTimeoutMs`, `operationTimeoutMs`, `closeTimeoutMs` where they do not set their
   * own; an adapter object keeps its own options, and core bounds its calls as a last resort.
   */
  readonly timeouts?: Partial<Timeouts>;
}

export type BackendEvents = Pick<TaskportEvents, "enqueued" | "error">;

/** Core's bounds come after the adapter's own, so the adapter's clearer error wins. */
const BOUND_SLACK_MS = 1_000;

const STORE_HINT = 'store: "postgres://…" or "redis://…" beside url:';

/** Alternatives offered when an engine lacks a feature; the adapter's name is prepended. */
const ALTERNATIVES: Record<Feature, string> = {
  delay: "Schedule it yourself (a cron job that enqueues), or choose an engine with delays (memory, BullMQ, pg-boss, SQS, RabbitMQ).",
  priority: 'Route urgent jobs to a separate queue with its own workers, or opt in with ignoreUnsupported: ["priority"].',
  results: `Configure a job store beside the engine (${STORE_HINT}), or choose an engine with results (memory, BullMQ, bee-queue, pg-boss).`,
  cancel: `Configure a job store beside the engine (${STORE_HINT}), or make the handler check a flag you store and return early.`,
  deduplication: `Configure a job store beside the engine (${STORE_HINT}), or make the handler idempotent.`,
  transactions:
    'Configure an outbox beside the engine (outbox: "postgres://…" beside url:, the database your transactions use), or choose pg-boss, which enqueues inside your transaction.',
  headers: "Put the values in the payload, or choose an engine that carries headers.",
  progress: `Configure a job store beside the engine (${STORE_HINT}), or store progress yourself.`,
};

/**
 * A named backend: an adapter resolved lazily from its spec, plus the validation that every
 * enqueue passes through whatever the engine.
 */
export class Backend extends Emitter<BackendEvents> {
  readonly name: string;
  readonly #spec: BackendSpec;
  readonly #ignored: ReadonlySet<Feature>;
  readonly #retention: Retention;
  readonly #timeoutsGiven: Partial<Timeouts> | undefined;
  readonly #timeouts: Timeouts;
  /** What every enqueue without a transaction tells the adapter. */
  readonly #context: EnqueueContext;
  #adapter: Adapter | undefined;
  #resolving: Promise<Adapter> | undefined;
  #watching: Promise<(() => Promise<void>) | undefined> | undefined;
  readonly #waiters = new Map<string, Set<() => void>>();
  readonly #workers = new Set<object>();

  constructor(name: string, spec: BackendSpec) {
    super();
    this.name = name;
    this.#spec = spec;
    const ignore = typeof spec === "object" && "ignoreUnsupported" in spec ? spec.ignoreUnsupported : undefined;
    this.#ignored = new Set(ignore ?? []);
    const retention = typeof spec === "object" && "retention" in spec ? spec.retention : undefined;
    this.#retention = resolveRetention(retention, `backend "${name}"`);
    this.#context = Object.freeze({ retention: this.#retention });
    this.#timeoutsGiven = typeof spec === "object" && "timeouts" in spec ? spec.timeouts : undefined;
    this.#timeouts = resolveTimeouts(this.#timeoutsGiven, "core");
    if (typeof spec === "string") parseBackendUrl(spec); // fail fast on a malformed URL, without connecting
  }

  /** The URL or adapter name, with any password hidden. */
  get description(): string {
    const spec = this.#spec;
    if (typeof spec === "string") return redactUrl(spec);
    if ("enqueue" in spec) return `${spec.name} adapter`;
    const engine = spec.url ? redactUrl(spec.url) : `${spec.adapter?.name ?? "unknown"} adapter`;
    const store =
      spec.store === undefined ? "" : ` with the job store ${typeof spec.store === "string" ? redactUrl(spec.store) : spec.store.name}`;
    const outbox =
      spec.outbox === undefined ? "" : ` with the outbox ${typeof spec.outbox === "string" ? redactUrl(spec.outbox) : spec.outbox.name}`;
    return `${engine}${store}${outbox}`;
  }

  /** How long finished jobs are kept: the given `retention` completed with the defaults. */
  get retention(): Retention {
    return this.#retention;
  }

  /** The adapter object this backend was given, if it was given one rather than a URL. */
  get adapterObject(): Adapter | undefined {
    const spec = this.#spec;
    if (typeof spec === "string") return undefined;
    return "enqueue" in spec ? spec : spec.adapter;
  }

  /** Workers consuming through this backend now: `configure()` will not close it under them. */
  get activeWorkers(): number {
    return this.#workers.size;
  }

  /** Count `worker` as consuming through this backend until the returned function is called. */
  addWorker(worker: object): () => void {
    this.#workers.add(worker);
    return () => this.#workers.delete(worker);
  }

  /** The adapter, created on first use. Creating it opens no connection. */
  adapter(): Promise<Adapter> {
    if (this.#adapter) return Promise.resolve(this.#adapter);
    this.#resolving ??= this.#resolve().then((adapter) => (this.#adapter = adapter));
    return this.#resolving;
  }

  async #resolve(): Promise<Adapter> {
    const engine = await this.#resolveEngine();
    const spec = this.#spec;
    if (typeof spec !== "object" || "enqueue" in spec) return engine;
    const { store, outbox } = spec;
    const stored =
      store === undefined
        ? engine
        : withJobStore(engine, typeof store === "string" ? await createStoreFromUrl(this.#withTimeouts(store)) : store, {
            retention: this.#retention,
            ...spec.storeOptions,
          });
    if (outbox === undefined) return stored;
    // The outbox wraps the store: the store records a job when the relay hands it to the engine,
    // never inside a transaction that may still roll back.
    return withOutbox(stored, typeof outbox === "string" ? await createOutboxFromUrl(this.#withTimeouts(outbox)) : outbox, {
      target: this.name,
      retention: this.#retention,
      ...spec.outboxOptions,
    });
  }

  async #resolveEngine(): Promise<Adapter> {
    const spec = this.#spec;
    if (typeof spec === "object" && "enqueue" in spec) return spec;
    const url = typeof spec === "string" ? spec : spec.url;
    if (typeof spec === "object" && spec.adapter) return spec.adapter;
    if (!url) throw new ConfigurationError("core", `backend "${this.name}" has neither a url nor an adapter.`);
    const parsed = parseBackendUrl(url);
    const factory = await factoryFor(parsed);
    return factory(withTimeoutParams(parsed, this.#timeoutsGiven));
  }

  /** A store's or an outbox's URL with this backend's timeouts, where it sets none itself. */
  #withTimeouts(url: string): string {
    return this.#timeoutsGiven ? withTimeoutParams(parseBackendUrl(url), this.#timeoutsGiven).toString() : url;
  }

  /**
   * `work`, a call to this backend's adapter, under core's last-resort bound (connect + operation
   * timeouts, and a second): for core's own callers (a worker's start). A `DeadlineError` past it.
   */
  bounded<T>(operation: string, work: Promise<T>): Promise<T> {
    return this.#bound(operation, work);
  }

  /**
   * `work`, giving up something of this backend's (a worker's consumer past its grace period), under
   * core's last-resort bound for closing (the close timeout, and a second): a consumer whose server
   * is gone must not hold up the worker that gives it up. A `DeadlineError` past it.
   */
  boundedClose<T>(operation: string, work: Promise<T>): Promise<T> {
    return deadline("core", operation, this.description, this.#timeouts.closeMs + BOUND_SLACK_MS, work);
  }

  /**
   * Core's last-resort bound on a call to the adapter: adapters bound their own calls (connect and
   * operation separately, abandoning what is late); this one catches an adapter that does not.
   */
  #bound<T>(operation: string, work: Promise<T>): Promise<T> {
    const { connectMs, operationMs } = this.#timeouts;
    return deadline("core", operation, this.description, connectMs + operationMs + BOUND_SLACK_MS, work);
  }

  /**
   * Enqueue jobs of `task`. `jobIds` is for core's own callers that must name jobs the same in every
   * process (a schedule's ticks); otherwise core picks a UUID per job.
   */
  async enqueue(
    task: AnyTask,
    payloads: readonly JsonValue[],
    options: EnqueueOptions = {},
    jobIds?: readonly string[],
  ): Promise<JobHandle<unknown>[]> {
    validateEnqueueOptions(options, `enqueue "${task.name}"`);
    // Once resolved, skip the extra await: this runs once per enqueue call.
    const adapter = this.#adapter ?? (await this.adapter());
    const caps = adapter.capabilities;
    const defaults = task.defaults;
    const now = Date.now();

    const queue = options.queue ?? defaults.queue ?? task.options.queue ?? "default";
    let priority = options.priority ?? defaults.priority ?? task.options.priority ?? PRIORITY_DEFAULT;
    let runAt = resolveRunAt(options, defaults.delayMs, now);
    let deduplicationKey = options.deduplicationKey;
    let transaction = options.transaction;
    const maxAttempts = options.attempts ?? defaults.attempts ?? task.options.retry?.maxAttempts ?? DEFAULT_RETRY.maxAttempts;
    const timeoutMs = options.timeoutMs ?? defaults.timeoutMs ?? task.options.timeoutMs;
    let headers = options.headers ?? defaults.headers;

    if (runAt !== undefined && !caps.delay) runAt = this.#unsupported(adapter, "delay", "delays");
    if (priority !== PRIORITY_DEFAULT && !caps.priority) priority = this.#unsupported(adapter, "priority", "priority") ?? PRIORITY_DEFAULT;
    if (deduplicationKey !== undefined && !caps.deduplication) {
      deduplicationKey = this.#unsupported(adapter, "deduplication", "deduplication keys");
    }
    if (headers !== undefined && !caps.headers) headers = this.#unsupported(adapter, "headers", "job headers");
    if (transaction !== undefined && !caps.transactions) {
      transaction = this.#unsupported(adapter, "transactions", "transactional enqueue");
    }

    const jobs: NewJob[] = new Array(payloads.length);
    for (let i = 0; i < payloads.length; i++) {
      const payload = payloads[i] ?? null;
      const payloadJson = encodeJson(adapter.name, payload, `payload of "${task.name}"`);
      checkSize(adapter.name, payloadJson, caps);
      // Optional fields are assigned, not spread: this runs once per job on the hot path.
      const job: Mutable<NewJob> = {
        id: jobIds?.[i] ?? newJobId(),
        name: task.name,
        queue,
        payload,
        payloadJson,
        priority,
        maxAttempts,
        enqueuedAt: now,
      };
      if (runAt !== undefined) job.runAt = runAt;
      if (deduplicationKey !== undefined) job.deduplicationKey = deduplicationKey;
      if (timeoutMs !== undefined) job.timeoutMs = timeoutMs;
      if (headers !== undefined) job.headers = headers;
      jobs[i] = job;
    }
    if (jobs.length === 0) return [];
    const hooks = instrumentations();
    const ended = hooks.length === 0 ? undefined : instrument(hooks, adapter, task.name, queue, jobs);

    let receipts: Awaited<ReturnType<Adapter["enqueue"]>>;
    try {
      receipts = await this.#bound(
        "enqueue",
        adapter.enqueue(jobs, transaction === undefined ? this.#context : { transaction, retention: this.#retention }),
      );
    } catch (error) {
      ended?.(error);
      throw this.#redact(error);
    }
    ended?.(undefined);
    const handles = new Array<JobHandle<unknown>>(jobs.length);
    const emit = this.has("enqueued");
    for (let i = 0; i < jobs.length; i++) {
      const job = jobs[i] as NewJob;
      const receipt = receipts[i] ?? { id: job.id };
      const deduplicated = receipt.deduplicated === true;
      handles[i] = new JobHandle(this, receipt.id, task.name, queue, runAt !== undefined ? "scheduled" : "queued", deduplicated);
      if (emit) this.emit("enqueued", { job: { id: receipt.id, name: task.name, queue }, deduplicated, ...(runAt ? { runAt } : {}) });
    }
    return handles;
  }

  async getJob(id: string, queue: string): Promise<JobInfo | null> {
    const adapter = await this.adapter();
    if (!adapter.capabilities.results || !adapter.getJob) {
      throw new UnsupportedFeatureError(adapter.name, "job status and results", ALTERNATIVES.results);
    }
    return adapter.getJob(id, queue);
  }

  /**
   * Resolve when the engine reports a change to job `id`, or after `pollMs` (a second where the
   * engine reports changes), and never later than `limitMs`: lets `wait()` wake as soon as a job
   * finishes where the engine (or its store) reports changes.
   */
  async changeOf(id: string, pollMs: number, limitMs: number): Promise<void> {
    const adapter = await this.adapter();
    if (adapter.watch) this.#watching ??= adapter.watch((change) => this.#wake(change.id)).catch(() => undefined);
    const watching = adapter.watch ? await this.#watching : undefined;
    await new Promise<void>((resolve) => {
      const waiters = this.#waiters.get(id) ?? new Set();
      const done = () => {
        clearTimeout(timer);
        waiters.delete(done);
        if (waiters.size === 0) this.#waiters.delete(id);
        resolve();
      };
      const timer = setTimeout(done, Math.min(watching ? 1_000 : pollMs, limitMs));
      waiters.add(done);
      this.#waiters.set(id, waiters);
    });
  }

  #wake(id: string): void {
    const waiters = this.#waiters.get(id);
    if (waiters) for (const done of [...waiters]) done();
  }

  async cancel(id: string, queue: string): Promise<boolean> {
    const adapter = await this.adapter();
    if (!adapter.capabilities.cancel || !adapter.cancel) {
      throw new UnsupportedFeatureError(adapter.name, "cancel", ALTERNATIVES.cancel);
    }
    return adapter.cancel(id, queue);
  }

  // ── inspection: what the CLI and the dashboard read ─────────────────────────

  /** Counts per status and the age of the oldest waiting job, per queue (all queues the engine can list without `queues`). */
  async stats(queues?: readonly string[]): Promise<QueueStats[]> {
    const adapter = await this.adapter();
    return this.#inspect(adapter, "stats", adapter.stats?.bind(adapter), "queue statistics")(queues);
  }

  /** A page of a queue's jobs, newest first; pass the page's `cursor` back for the next one. */
  async jobs(queue: string, options: Partial<JobListOptions> = {}): Promise<JobPage> {
    const adapter = await this.adapter();
    const list = this.#inspect(adapter, "listJobs", adapter.listJobs?.bind(adapter), "listing jobs");
    return list(queue, { limit: 50, ...options });
  }

  /** Jobs of `queue` that failed for good, newest first. */
  async deadLetters(queue: string, limit = 50): Promise<JobInfo[]> {
    const adapter = await this.adapter();
    return this.#inspect(adapter, "deadLetter", adapter.listDeadLetters?.bind(adapter), "dead letters")(queue, limit);
  }

  /** Run dead letters of `queue` again (those with `ids`, or all); resolves to how many. */
  async redrive(queue: string, ids?: readonly string[]): Promise<number> {
    const adapter = await this.adapter();
    return this.#inspect(adapter, "redrive", adapter.redrive?.bind(adapter), "redrive")(queue, ids);
  }

  /**
   * Remove dead letters of `queue` for good (those with `ids`, or all): they never run, and their
   * record is gone (`getJob` is `null`); ids that are not dead letters are ignored. Resolves to how many.
   */
  async discardDeadLetters(queue: string, ids?: readonly string[]): Promise<number> {
    const adapter = await this.adapter();
    const discard = adapter.discardDeadLetters?.bind(adapter);
    return this.#inspect(adapter, "discardDeadLetters", discard, "discarding dead letters")(queue, ids);
  }

  /** Workers in every process stop taking `queue`'s jobs until `resume`. */
  async pause(queue: string): Promise<void> {
    const adapter = await this.adapter();
    return this.#inspect(adapter, "pause", adapter.pause?.bind(adapter), "pausing a queue")(queue);
  }

  async resume(queue: string): Promise<void> {
    const adapter = await this.adapter();
    return this.#inspect(adapter, "pause", adapter.resume?.bind(adapter), "resuming a queue")(queue);
  }

  /** The adapter's method when its capability is declared; otherwise an error saying so. */
  #inspect<F>(adapter: Adapter, capability: InspectionCapability, method: F | undefined, what: string): F {
    if (adapter.capabilities[capability] && method) return method;
    throw new UnsupportedFeatureError(
      adapter.name,
      what,
      "Configure a job store beside the engine, or use the engine's own tools (its console or management API).",
    );
  }

  /** Configuration and reachability problems, passwords redacted. Never throws. */
  async check(): Promise<CheckProblem[]> {
    try {
      const adapter = await this.adapter();
      const problems = (await this.#bound("check()", adapter.check?.() ?? Promise.resolve([]))) ?? [];
      return problems.map((problem) => ({ message: this.#redactText(problem.message) }));
    } catch (error) {
      return [{ message: this.#redactText(error instanceof Error ? error.message : String(error)) }];
    }
  }

  async close(): Promise<void> {
    if (!this.#resolving && !this.#adapter) return;
    const stopWatching = await this.#watching;
    this.#watching = undefined;
    await stopWatching?.().catch(() => {});
    const adapter = await this.adapter().catch(() => undefined);
    // Adapters abandon what does not close within closeMs; this bounds one that does not.
    const ms = this.#timeouts.closeMs + BOUND_SLACK_MS;
    await deadline("core", "close()", this.description, ms, Promise.resolve(adapter?.close())).catch((error: unknown) => {
      if (!(error instanceof DeadlineError)) throw error;
    });
  }

  #unsupported(adapter: Adapter, feature: Feature, what: string): undefined {
    if (this.#ignored.has(feature)) return undefined;
    throw new UnsupportedFeatureError(adapter.name, what, `${ALTERNATIVES[feature]} Nothing was enqueued.`);
  }

  /** Passwords in the engine's and the store's URLs: never shown in messages. */
  #secrets(): string[] {
    const spec = this.#spec;
    const urls =
      typeof spec === "string"
        ? [spec]
        : "enqueue" in spec
          ? []
          : [spec.url, typeof spec.store === "string" ? spec.store : undefined, typeof spec.outbox === "string" ? spec.outbox : undefined];
    return urls.flatMap((url) => {
      if (!url) return [];
      try {
        const parsed = new URL(url);
        return [parsed.password, decodeURIComponent(parsed.password)].filter((s) => s.length > 0);
      } catch {
        return [];
      }
    });
  }

  #redactText(text: string): string {
    return redactSecrets(text, this.#secrets());
  }

  #redact(error: unknown): unknown {
    if (error instanceof Error && this.#secrets().length > 0) error.message = this.#redactText(error.message);
    return error;
  }
}

/**
 * Show a batch to the instrumentation hooks before the engine sees it; headers they add (trace
 * context) are set on the jobs where the engine carries headers. Returns what to call with the outcome.
 */
function instrument(
  hooks: readonly Instrumentation[],
  adapter: Adapter,
  taskName: string,
  queue: string,
  jobs: Mutable<NewJob>[],
): (error: unknown) => void {
  const carriesHeaders = adapter.capabilities.headers === true;
  const views = jobs.map((job) => ({ id: job.id, headers: { ...job.headers } }));
  const endings: ((error: unknown) => void)[] = [];
  for (const hook of hooks) {
    const end = hook.enqueue?.({ engine: adapter.name, taskName, queue, jobs: views, carriesHeaders });
    if (end) endings.push(end);
  }
  if (carriesHeaders) {
    for (let i = 0; i < jobs.length; i++) {
      const headers = views[i]?.headers;
      if (headers && Object.keys(headers).length > 0) (jobs[i] as Mutable<NewJob>).headers = headers;
    }
  }
  return (error) => {
    for (const end of endings) end(error);
  };
}

type InspectionCapability = "stats" | "listJobs" | "deadLetter" | "redrive" | "discardDeadLetters" | "pause";

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

function resolveRunAt(options: EnqueueOptions, defaultDelayMs: number | undefined, now: number): number | undefined {
  if (options.runAt !== undefined) {
    const time = options.runAt instanceof Date ? options.runAt.getTime() : options.runAt;
    return time > now ? time : undefined;
  }
  const delay = options.delayMs ?? defaultDelayMs;
  return delay ? now + delay : undefined;
}

function checkSize(origin: string, json: string, caps: Capabilities): void {
  const limit = caps.maxPayloadBytes;
  // A UTF-16 code unit is at most 3 UTF-8 bytes: skip measuring when the text cannot be too big.
  if (limit === undefined || json.length * 3 <= limit) return;
  const bytes = byteLength(json);
  if (bytes > limit) throw new PayloadTooLargeError(origin, bytes, limit);
}
