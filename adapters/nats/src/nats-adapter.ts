import type { JetStreamClient, PubAck } from "@nats-io/jetstream";
import type { MsgHdrs, NodeConnectionOptions } from "@nats-io/transport-node";
import {
  type Adapter,
  type AdapterFactory,
  BulkEnqueueError,
  type Capabilities,
  type CheckProblem,
  ConfigurationError,
  type ConsumeOptions,
  type Consumer,
  closeWithin,
  type DeliveryHandler,
  deadline,
  type EnqueueReceipt,
  type JobInfo,
  logger,
  type NewJob,
  redactUrl,
  resolveTimeouts,
  type Timeouts,
} from "@taskport/core";
import { NatsConnectionHolder } from "./connection.ts";
import { NatsWorker } from "./consumer.ts";
import { discardLetters, letterToJob, readLetters, redriveLetters } from "./dead-letters.ts";
import { HEADER_RESERVE_BYTES, jobHeaders, payloadBytes, readFacts } from "./message-format.ts";
import type { QueueNames } from "./names.ts";
import { explainNatsError, ORIGIN } from "./nats-errors.ts";
import { Topology } from "./topology.ts";
import { parseUrlOptions } from "./url-options.ts";

export interface NatsAdapterOptions {
  /** `nats://user:password@host:4222?ackWaitMs=30000`, `nats+tls://…`, `nats://token@host`. One of `url` or `servers`. */
  readonly url?: string | URL;
  /** Servers as the NATS client takes them (`["127.0.0.1:4222"]`). */
  readonly servers?: string | string[];
  /**
   * More options for the NATS client's `connect()` (credentials, `authenticator`, `tls`, `name`, …),
   * over taskport's: reconnect forever, a ping every 10 s, `noAsyncTraces` (see the README's benchmark).
   */
  readonly connectionOptions?: NodeConnectionOptions;
  /** Prefix of stream (upper-cased) and subject names. Default `taskport`. */
  readonly prefix?: string;
  /**
   * The lease, in ms: a job not settled within it is delivered again, unless its worker is alive,
   * which says `working()` every third of it. Default 30 000. The shorter, the sooner a crashed
   * worker's jobs run again.
   */
  readonly ackWaitMs?: number;
  /**
   * Deliveries of one job in all (runs, retries, redeliveries after a crash); past it a worker moves
   * the job to the dead letters unrun. Default -1, no limit: core ends a job at its `maxAttempts`. See the README.
   */
  readonly maxDeliver?: number;
  /** How long JetStream remembers a message id (deduplication key, or job id), in ms. Default 120 000. */
  readonly duplicateWindowMs?: number;
  /** Replicas of each stream, on a cluster. Default 1. */
  readonly replicas?: number;
  /** Longest single nak delay of a delayed job, in ms; longer delays take several hops. Default: none. */
  readonly maxNativeDelayMs?: number;
  /** Largest payload in bytes. Default the server's default `max_payload` (1 MiB) less 4 KiB for headers. */
  readonly maxPayloadBytes?: number;
  /** How long a worker's pull request waits on the server, in ms (≥ 1000). Default 5 000; a graceful stop waits it out. */
  readonly pullExpiresMs?: number;
  /**
   * Jobs a worker pulls beyond its free slots, so the next is at hand when a slot frees. Default the
   * worker's concurrency; 0 pulls only for free slots (a stopping worker then hands nothing back).
   */
  readonly readAhead?: number;
  /** Pull loops per queue per worker. Default ⌈concurrency / 10⌉, at most 4: while one pull waits for its round trip, another's jobs run. */
  readonly pullers?: number;
  /**
   * Bounds on calls to the server: `{ connectMs, operationMs, closeMs }`, default 10 s, 30 s, 10 s.
   * connectMs bounds the first connect; an enqueue (its publish acknowledgements), `check()` and a
   * worker's setup past operationMs are a `DeadlineError`; `close()` gives up after closeMs.
   */
  readonly timeouts?: Partial<Timeouts>;
}

/** A publish to send again: a reconnect came before its acknowledgement. */
const RESEND = Symbol("resend");
/** A publish's acknowledgement or failure, or RESEND. */
type PublishOutcome = PromiseSettledResult<PubAck> | typeof RESEND;

interface Outgoing {
  readonly subject: string;
  readonly data: Uint8Array;
  readonly options: { readonly headers: MsgHdrs; readonly msgID: string };
}

const DEFAULT_MAX_PAYLOAD = 1024 * 1024;
/** Ping interval: a connection that goes silent is noticed within about two of them and replaced. */
const PING_INTERVAL_MS = 10_000;

/**
 * taskport over NATS JetStream (@nats-io/jetstream 3). A queue is a work-queue stream with a durable
 * pull consumer: the ack wait is the lease (kept by `working()`), a delayed job (and a retry in its
 * backoff) waits nakked on a second consumer until due, deduplication is the stream's message-id
 * window, and dead letters are a stream of their own. Nothing connects until the first call that
 * needs the server.
 */
export class NatsAdapter implements Adapter {
  readonly name = ORIGIN;
  readonly capabilities: Capabilities;
  readonly #connection: NatsConnectionHolder;
  readonly #topology: Topology;
  readonly #timeouts: Timeouts;
  readonly #options: NatsAdapterOptions;
  readonly #ackWaitMs: number;
  readonly #maxNativeDelayMs: number | undefined;
  readonly #maxPayloadBytes: number;
  readonly #pullExpiresMs: number;
  readonly #consumers = new Set<NatsWorker>();
  readonly #usedQueues = new Set<string>();

  constructor(options: NatsAdapterOptions) {
    if ((options.url === undefined) === (options.servers === undefined)) {
      throw new ConfigurationError(ORIGIN, "give exactly one of `url` or `servers`, e.g. { url: 'nats://127.0.0.1:4222' }.");
    }
    const parsed = options.url !== undefined ? parseUrlOptions(parseUrl(options.url)) : undefined;
    this.#options = options;
    this.#timeouts = resolveTimeouts({ ...parsed?.timeouts, ...options.timeouts }, ORIGIN);
    this.#ackWaitMs = integer("ackWaitMs", options.ackWaitMs ?? parsed?.ackWaitMs ?? 30_000, 100, 24 * 3600_000);
    const maxDeliver = options.maxDeliver ?? parsed?.maxDeliver ?? -1;
    if (maxDeliver !== -1) integer("maxDeliver", maxDeliver, 1, 2 ** 31);
    const duplicateWindowMs = integer("duplicateWindowMs", options.duplicateWindowMs ?? parsed?.duplicateWindowMs ?? 120_000, 100, 2 ** 40);
    const replicas = integer("replicas", options.replicas ?? parsed?.replicas ?? 1, 1, 5);
    requireWindowPastLease(this.#ackWaitMs, duplicateWindowMs);
    this.#maxNativeDelayMs =
      options.maxNativeDelayMs === undefined ? undefined : integer("maxNativeDelayMs", options.maxNativeDelayMs, 1, 2 ** 40);
    this.#maxPayloadBytes = integer("maxPayloadBytes", options.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD - HEADER_RESERVE_BYTES, 1, 2 ** 31);
    this.#pullExpiresMs = integer("pullExpiresMs", options.pullExpiresMs ?? 5_000, 1_000, 300_000);
    // No pull loop would be a worker that never takes a job, silently.
    if (options.pullers !== undefined) integer("pullers", options.pullers, 1, 64);
    if (options.readAhead !== undefined) integer("readAhead", options.readAhead, 0, 2 ** 31);
    this.capabilities = Object.freeze({
      // A delayed job waits nakked with its delay on its queue's `delayed` consumer: in the server, not the worker.
      delay: true,
      ...(this.#maxNativeDelayMs !== undefined ? { maxNativeDelayMs: this.#maxNativeDelayMs } : {}),
      // A stream delivers in order; there is no priority among its messages.
      priority: false,
      // A stream keeps messages, not outcomes (a job store adds them: `store:`).
      results: false,
      // A message can be deleted by sequence, but a job's sequence is known only to whoever holds it.
      cancel: false,
      // JetStream drops a message whose id (the key) it has seen within the stream's duplicate window.
      deduplication: "window",
      deduplicationWindowMs: duplicateWindowMs,
      // Publishes are pipelined: every message is sent, then all acknowledgements awaited.
      nativeBulkEnqueue: true,
      transactions: false,
      // Retries and redeliveries come back out of order, and a worker runs several at once.
      ordering: "none",
      progress: false,
      deadLetter: true,
      // Attempts come from the delivery count, which also counts a hand-back by a stopping worker
      // and a delivery to a pull whose worker died before seeing it: not one per crash.
      crashCountsAsAttempt: false,
      // Letters are read by an ordered consumer, published back, then deleted by sequence.
      redrive: true,
      // The same read, then the chosen letters deleted by sequence, published nowhere.
      discardDeadLetters: true,
      // NATS headers: one `Taskport-Headers` (JSON), kept across retries, delays, dead letters and redrive.
      headers: true,
      maxPayloadBytes: this.#maxPayloadBytes,
    } satisfies Capabilities);

    const servers = options.servers ?? parsed?.servers ?? [];
    const where = options.url !== undefined ? redactUrl(String(options.url)) : [servers].flat().join(",");
    this.#connection = new NatsConnectionHolder({
      where,
      operationMs: this.#timeouts.operationMs,
      options: {
        servers,
        ...(parsed?.user !== undefined ? { user: parsed.user, pass: parsed.pass } : {}),
        ...(parsed?.token !== undefined ? { token: parsed.token } : {}),
        ...(parsed?.tls ? { tls: {} } : {}),
        name: "taskport",
        timeout: this.#timeouts.connectMs,
        // The client would build an Error for each request's stack trace, in case it fails: a third
        // of an enqueue's time. taskport's own errors name the call and the server instead.
        noAsyncTraces: true,
        // A worker must outlive any outage: reconnect forever, and notice a silent connection soon.
        maxReconnectAttempts: -1,
        reconnectTimeWait: 500,
        pingInterval: PING_INTERVAL_MS,
        maxPingOut: 2,
        ...options.connectionOptions,
      },
      onError: (error) => logger().error({ error }, error.message),
    });
    this.#topology = new Topology({
      prefix: options.prefix ?? "taskport",
      ackWaitMs: this.#ackWaitMs,
      maxDeliver,
      duplicateWindowMs,
      replicas,
    });
  }

  async enqueue(jobs: readonly NewJob[]): Promise<EnqueueReceipt[]> {
    if (jobs.length === 0) return [];
    return this.#bounded(jobs.length === 1 ? "enqueue" : "enqueueMany", () => this.#publish(jobs));
  }

  async #publish(jobs: readonly NewJob[]): Promise<EnqueueReceipt[]> {
    const { js, jsm } = await this.#connection.handles();
    const queues = [...new Set(jobs.map((job) => job.queue))];
    const names = new Map(await Promise.all(queues.map(async (queue) => [queue, await this.#topology.streams(jsm, queue)] as const)));
    const now = Date.now();
    const outgoing = jobs.map((job) => {
      this.#usedQueues.add(job.queue);
      const queue = names.get(job.queue) as QueueNames;
      const delayed = job.runAt !== undefined && job.runAt > now;
      return {
        subject: delayed ? queue.delayedSubject : queue.jobSubject,
        data: payloadBytes(job),
        options: { headers: jobHeaders(job), msgID: job.deduplicationKey ?? job.id },
      };
    });
    const settled = await this.#sendAll(js, outgoing);
    const failed = settled.flatMap((s, i) => (s.status === "rejected" ? [{ job: jobs[i] as NewJob, error: s.reason as unknown }] : []));
    if (failed.length === jobs.length) throw explainNatsError(failed[0]?.error, this.#connection.settings.where, "enqueue");
    if (failed.length > 0) {
      throw new BulkEnqueueError(
        ORIGIN,
        jobs.filter((_, i) => settled[i]?.status === "fulfilled").map((job) => job.id),
        failed.map(({ job, error }) => ({ id: job.id, code: "TASKPORT_CONNECTION", message: String(error) })),
      );
    }
    const receipts: EnqueueReceipt[] = [];
    for (let i = 0; i < jobs.length; i++) {
      const job = jobs[i] as NewJob;
      const ack = (settled[i] as PromiseFulfilledResult<PubAck>).value;
      receipts.push(ack.duplicate ? await this.#holder(job, ack.stream, ack.seq) : { id: job.id });
    }
    return receipts;
  }

  /**
   * Publish every message before awaiting any acknowledgement (one round trip for a batch). Those
   * whose acknowledgement a reconnect cut off are sent again, under the same message id, which the
   * stream drops if the first copy did arrive.
   */
  async #sendAll(js: JetStreamClient, outgoing: readonly Outgoing[]): Promise<PromiseSettledResult<PubAck>[]> {
    const results = new Array<PromiseSettledResult<PubAck> | undefined>(outgoing.length);
    let left = outgoing.map((_, i) => i);
    while (left.length > 0) {
      await this.#connection.whenConnected();
      let stopListening = () => {};
      // One listener for the round rather than a race per message: a reconnect settles every
      // publish still unacknowledged as one to send again; an acknowledgement after it is ignored.
      const round = await new Promise<PublishOutcome[]>((resolve) => {
        const outcomes = new Array<PublishOutcome | undefined>(left.length);
        let waiting = left.length;
        const settle = (k: number, outcome: PromiseSettledResult<PubAck>) => {
          if (outcomes[k] !== undefined) return;
          outcomes[k] = outcome;
          if (--waiting === 0) resolve(outcomes as PublishOutcome[]);
        };
        stopListening = this.#connection.onReconnect(() => {
          for (let k = 0; k < outcomes.length; k++) outcomes[k] ??= RESEND;
          resolve(outcomes as PublishOutcome[]);
        });
        left.forEach((i, k) => {
          const { subject, data, options } = outgoing[i] as Outgoing;
          js.publish(subject, data, options).then(
            (value) => settle(k, { status: "fulfilled", value }),
            (reason: unknown) => settle(k, { status: "rejected", reason }),
          );
        });
      });
      stopListening();
      const again: number[] = [];
      round.forEach((result, k) => {
        const i = left[k] as number;
        if (result === RESEND) again.push(i);
        else results[i] = result;
      });
      left = again;
      // An acknowledgement that never came: the socket may be silent (a black hole) while the
      // client still thinks it connected. The next call gets a new connection.
      if (round.some((r) => r !== RESEND && r.status === "rejected" && isTimeout(r.reason))) this.#connection.replace();
    }
    return results as PromiseSettledResult<PubAck>[];
  }

  /**
   * A duplicate's acknowledgement names the sequence of the message that holds its id: the holder's
   * job id is read from it while it is still in the stream. Once that job has run (its message is
   * gone) the holder is unknown, and the receipt is the new id, unflagged, as SQS FIFO gives it.
   */
  async #holder(job: NewJob, stream: string, seq: number): Promise<EnqueueReceipt> {
    const { jsm } = await this.#connection.handles();
    const held = await jsm.streams.getMessage(stream, { seq }).catch(() => null);
    if (!held) return { id: job.id };
    return { id: readFacts(held.header, job.id).id, deduplicated: true };
  }

  /** `work` bounded by operationMs: past it a DeadlineError naming the call and the server. */
  #bounded<T>(operation: string, work: () => Promise<T>): Promise<T> {
    return deadline(ORIGIN, operation, this.#connection.settings.where, this.#timeouts.connectMs + this.#timeouts.operationMs, work, () =>
      this.#connection.replace(),
    );
  }

  async consume(options: ConsumeOptions, handler: DeliveryHandler): Promise<Consumer> {
    for (const queue of options.queues) this.#usedQueues.add(queue);
    const worker = new NatsWorker(
      this.#connection,
      this.#topology,
      {
        ackWaitMs: this.#ackWaitMs,
        pullExpiresMs: this.#pullExpiresMs,
        pullers: this.#options.pullers ?? Math.min(4, Math.max(1, Math.ceil(options.concurrency / 10))),
        readAhead: this.#options.readAhead ?? options.concurrency,
        maxHopMs: this.#maxNativeDelayMs,
        maxDeliver: this.#topology.settings.maxDeliver !== -1 ? this.#topology.settings.maxDeliver : undefined,
      },
      options,
      handler,
    );
    try {
      await this.#bounded("start a worker", () => worker.start());
    } catch (error) {
      await worker.abandon();
      throw explainNatsError(error, this.#connection.settings.where, `consume from ${options.queues.join(", ")}`);
    }
    this.#consumers.add(worker);
    return worker;
  }

  /** A queue's dead letters, newest first, read without taking them away. */
  async listDeadLetters(queue: string, limit: number): Promise<JobInfo[]> {
    return this.#bounded("listDeadLetters", async () => {
      const { js, jsm } = await this.#connection.handles();
      const names = await this.#topology.streams(jsm, queue);
      const letters = await readLetters(js, jsm, names);
      return letters
        .reverse()
        .slice(0, limit)
        .map((msg) => letterToJob(msg, queue));
    });
  }

  async redrive(queue: string, ids?: readonly string[]): Promise<number> {
    this.#usedQueues.add(queue);
    return this.#bounded("redrive", async () => {
      const { js, jsm } = await this.#connection.handles();
      return redriveLetters(js, jsm, await this.#topology.streams(jsm, queue), ids);
    });
  }

  async discardDeadLetters(queue: string, ids?: readonly string[]): Promise<number> {
    return this.#bounded("discardDeadLetters", async () => {
      const { js, jsm } = await this.#connection.handles();
      return discardLetters(js, jsm, await this.#topology.streams(jsm, queue), ids);
    });
  }

  async check(): Promise<CheckProblem[]> {
    try {
      await this.#bounded("check()", async () => {
        const { jsm } = await this.#connection.handles();
        // Proves the account has JetStream, not only that a server answers.
        await jsm.getAccountInfo();
      });
    } catch (error) {
      return [{ message: explainNatsError(error, this.#connection.settings.where, "checking JetStream").message }];
    }
    return [];
  }

  async close(): Promise<void> {
    const consumers = [...this.#consumers];
    this.#consumers.clear();
    await closeWithin(
      this.#timeouts.closeMs,
      async () => {
        await Promise.allSettled(consumers.map((consumer) => consumer.abandon()));
        await this.#connection.close();
      },
      () => {
        void this.#connection.current().then((handles) => handles?.nc.close());
      },
    );
  }
}

function isTimeout(error: unknown): boolean {
  return (error as { name?: string })?.name === "TimeoutError" || /timeout/i.test(String(error));
}

function parseUrl(url: string | URL): URL {
  if (url instanceof URL) return url;
  try {
    return new URL(url);
  } catch {
    throw new ConfigurationError(ORIGIN, `"${redactUrl(url)}" is not a valid URL. Write nats://user:password@host:4222.`);
  }
}

/**
 * A retry is published under message id `<job id>:retry:<sequence>` before its job is acked, so that
 * a worker dying in between leaves one retry: the job comes back after the ack wait, fails again,
 * and its second copy is dropped as a duplicate. That holds only while the stream still remembers
 * the first copy's id when the second comes, at least one ack wait later (the same goes for a job
 * moved past maxDeliver). A window no longer than the lease would let the job run twice.
 */
function requireWindowPastLease(ackWaitMs: number, duplicateWindowMs: number): void {
  if (duplicateWindowMs > ackWaitMs) return;
  throw new ConfigurationError(
    ORIGIN,
    `duplicateWindowMs (${duplicateWindowMs}) must be longer than ackWaitMs (${ackWaitMs}): a retry sent by a worker that died before acknowledging its job could otherwise run twice. Raise duplicateWindowMs (e.g. to ${Math.max(120_000, 4 * ackWaitMs)}) or lower ackWaitMs.`,
  );
}

function integer(name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigurationError(ORIGIN, `${name} must be a whole number from ${min} to ${max}, not ${value}.`);
  }
  return value;
}

/** Core loads this for `nats://` and `nats+tls://` URLs. */
export const createAdapter: AdapterFactory = (url: URL) => new NatsAdapter({ url });
