import {
  type Adapter,
  type AdapterFactory,
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
  type NewJob,
  redactUrl,
  resolveTimeouts,
  type Timeouts,
} from "@taskport/core";
import type { Channel, GetMessage, Options } from "amqplib";
import { explainConnectError } from "./amqp-errors.ts";
import { AmqpConnection } from "./connection.ts";
import { RabbitConsumer } from "./consumer.ts";
import { DEFAULT_MAX_BUCKET_MS } from "./delay-buckets.ts";
import { type JobMessage, jobToMessage, readError, readMessage } from "./message-format.ts";
import { type Outgoing, Publisher } from "./publisher.ts";
import { deadLetterQueueName, Topology } from "./topology.ts";
import { parseUrlOptions, type QueueType } from "./url-options.ts";

export interface RabbitMQAdapterOptions {
  /** `amqp://user:password@host:5672/vhost?heartbeat=30`. One of `url` or `connection`. */
  readonly url?: string;
  /** amqplib's connection object (`hostname`, `port`, `username`, `password`, `vhost`, `heartbeat`, …). */
  readonly connection?: Options.Connect;
  /** amqplib socket options (TLS certificates, timeouts, `clientProperties`); `noDelay` is on unless set here. */
  readonly socketOptions?: Record<string, unknown>;
  /** `classic` (default; supports priority) or `quorum` (replicated; no priority). */
  readonly queueType?: QueueType;
  /** `x-max-priority` of classic work queues, 1–255; 0 declares queues without priority. Default 10. */
  readonly maxPriority?: number;
  /**
   * Quorum queues only: `x-delivery-limit`. A job returned to the queue unsettled more than this
   * many times (its worker crashed or lost its connection each time) goes to the dead letters
   * instead of being delivered again. Default: none, delivered again forever.
   */
  readonly deliveryLimit?: number;
  /** Messages a worker holds unacknowledged per queue. Default: the worker's concurrency. */
  readonly prefetch?: number;
  /** Longest delay bucket in ms; longer delays take several hops. Default 2^30 (about 12 days). */
  readonly maxDelayBucketMs?: number;
  /** Largest payload in bytes. Default 128 MiB, RabbitMQ's default `max_message_size`. */
  readonly maxPayloadBytes?: number;
  /** After a working connection is lost, an enqueue keeps retrying this long (ms). Default 30000. */
  readonly reconnectTimeoutMs?: number;
  /** Queues `check()` inspects for conflicting arguments, besides those this adapter has used. */
  readonly queues?: readonly string[];
  /** Shown in the management UI and `rabbitmqctl list_connections`. Default `taskport`. */
  readonly connectionName?: string;
  /**
   * Bounds on calls to the broker: `{ connectMs, operationMs, closeMs }`, default 10 s, 30 s, 10 s.
   * connectMs is amqplib's socket `timeout` while connecting (TCP, TLS, the AMQP handshake): past it
   * a `ConnectionError`. An enqueue (its publisher confirms, and any reconnect retries within
   * `reconnectTimeoutMs`), `check()` and a worker's setup past operationMs are a `DeadlineError`,
   * and the connection is dropped (the next use reconnects). `close()` destroys what has not closed
   * after closeMs. A worker's wait for messages is not bounded.
   */
  readonly timeouts?: Partial<Timeouts>;
}

const MAX_MESSAGE_SIZE = 128 * 1024 * 1024;

/**
 * taskport over RabbitMQ (AMQP 0-9-1, amqplib 2). RabbitMQ is a broker, not a job store: delays,
 * retries and dead letters are built from durable queues, per-duration TTL queues and publisher
 * confirms. Nothing connects until the first call that needs the broker.
 */
export class RabbitMQAdapter implements Adapter {
  readonly name = "rabbitmq";
  readonly capabilities: Capabilities;
  readonly #connection: AmqpConnection;
  readonly #topology: Topology;
  readonly #publisher: Publisher;
  readonly #options: RabbitMQAdapterOptions;
  readonly #timeouts: Timeouts;
  readonly #prefetch: number | undefined;
  /** AMQP priority levels of work queues (0…n); 0 when they have none. */
  readonly #priorityLevels: number;
  readonly #usedQueues = new Set<string>();
  readonly #consumers = new Set<RabbitConsumer>();

  constructor(options: RabbitMQAdapterOptions) {
    if ((options.url === undefined) === (options.connection === undefined)) {
      throw new ConfigurationError(
        "rabbitmq",
        "give exactly one of `url` or `connection`, e.g. { url: 'amqp://guest:guest@127.0.0.1:5672' }.",
      );
    }
    const parsed = options.url !== undefined ? parseUrlOptions(parseUrl(options.url)) : undefined;
    this.#timeouts = resolveTimeouts({ ...parsed?.timeouts, ...options.timeouts }, "rabbitmq");
    const queueType = options.queueType ?? parsed?.queueType ?? "classic";
    const maxPriority = options.maxPriority ?? parsed?.maxPriority ?? 10;
    if (!Number.isInteger(maxPriority) || maxPriority < 0 || maxPriority > 255) {
      throw new ConfigurationError(
        "rabbitmq",
        `maxPriority must be an integer from 0 to 255, not ${maxPriority}. 10 is RabbitMQ's advice.`,
      );
    }
    const maxBucket = options.maxDelayBucketMs ?? parsed?.maxDelayBucketMs ?? DEFAULT_MAX_BUCKET_MS;
    if (!Number.isInteger(maxBucket) || maxBucket < 1 || maxBucket > DEFAULT_MAX_BUCKET_MS) {
      throw new ConfigurationError("rabbitmq", `maxDelayBucketMs must be an integer from 1 to ${DEFAULT_MAX_BUCKET_MS}, not ${maxBucket}.`);
    }
    const deliveryLimit = options.deliveryLimit ?? parsed?.deliveryLimit;
    if (deliveryLimit !== undefined) {
      if (queueType !== "quorum") {
        throw new ConfigurationError(
          "rabbitmq",
          "deliveryLimit needs queueType=quorum: classic queues do not count deliveries. Declare quorum queues, or leave deliveryLimit out.",
        );
      }
      if (!Number.isInteger(deliveryLimit) || deliveryLimit < 1) {
        throw new ConfigurationError("rabbitmq", `deliveryLimit must be an integer of at least 1, not ${deliveryLimit}.`);
      }
    }
    const priorityLevels = queueType === "classic" ? maxPriority : 0;
    this.#options = options;
    this.#priorityLevels = priorityLevels;
    this.#prefetch = options.prefetch ?? parsed?.prefetch;
    this.capabilities = Object.freeze({
      delay: true,
      maxNativeDelayMs: maxBucket,
      // Quorum queues (3.10) have no priorities; a classic queue needs x-max-priority.
      priority: priorityLevels > 0,
      // A broker keeps messages, not outcomes: no stored status or result to read back.
      results: false,
      // A queued message cannot be removed from the middle of a queue.
      cancel: false,
      // AMQP has no uniqueness over messages in a queue.
      deduplication: false,
      // One confirm round for a whole batch: every message is published, then all confirms awaited.
      nativeBulkEnqueue: true,
      transactions: false,
      // Retries and redeliveries go to the back of the queue, and prefetch lets a worker hold several.
      ordering: "none",
      progress: false,
      deadLetter: true,
      // Quorum queues count the times a message went back unsettled (x-delivery-count); classic
      // queues count nothing, so a message a dead channel gave back has the attempt it was published with.
      crashCountsAsAttempt: queueType === "quorum",
      // Dead letters are fetched from `<queue>.dead`, published back with confirms, then acked.
      redrive: true,
      // The chosen letters are fetched from `<queue>.dead` and acked, published nowhere.
      discardDeadLetters: true,
      // One AMQP header, `taskport-headers` (JSON), kept across retries, dead-lettering and redrive.
      headers: true,
      maxPayloadBytes: options.maxPayloadBytes ?? MAX_MESSAGE_SIZE,
    } satisfies Capabilities);
    const where =
      options.url !== undefined ? redactUrl(parsed?.connectUrl ?? options.url) : describeConnection(options.connection as Options.Connect);
    this.#connection = new AmqpConnection({
      target: withHeartbeat(parsed?.connectUrl ?? (options.connection as Options.Connect)),
      where,
      socketOptions: {
        // amqplib leaves Nagle's algorithm on: a publish written while the broker had not yet
        // acknowledged (at TCP level) an ack the worker sent waited out its delayed ACK, ~40 ms.
        noDelay: true,
        // amqplib's own: a socket with no answer while connecting is destroyed (off once open).
        timeout: this.#timeouts.connectMs,
        ...options.socketOptions,
        clientProperties: {
          connection_name: options.connectionName ?? "taskport",
          ...((options.socketOptions?.clientProperties as object | undefined) ?? {}),
        },
      },
      reconnectTimeoutMs: options.reconnectTimeoutMs ?? 30_000,
      connectTimeoutMs: this.#timeouts.connectMs,
    });
    this.#topology = new Topology(this.#connection, queueType, priorityLevels, deliveryLimit);
    this.#publisher = new Publisher(this.#connection, this.#topology, maxBucket);
  }

  async enqueue(jobs: readonly NewJob[]): Promise<EnqueueReceipt[]> {
    if (jobs.length === 0) return [];
    const outgoing = new Array<Outgoing>(jobs.length);
    const receipts = new Array<EnqueueReceipt>(jobs.length);
    for (let i = 0; i < jobs.length; i++) {
      const job = jobs[i] as NewJob;
      this.#usedQueues.add(job.queue);
      outgoing[i] = { queue: job.queue, message: jobToMessage(job, this.#priorityLevels) };
      receipts[i] = { id: job.id };
    }
    await this.#bounded(jobs.length === 1 ? "enqueue" : "enqueueMany", this.#publisher.send(outgoing));
    return receipts;
  }

  /**
   * `work` bounded by operationMs: past it a DeadlineError naming the call, and the connection,
   * which a silent broker holds, is destroyed (amqplib fails what waits on it; the next use reconnects).
   */
  #bounded<T>(operation: string, work: Promise<T>, abandon?: () => void): Promise<T> {
    return deadline("rabbitmq", operation, this.#connection.settings.where, this.#timeouts.operationMs, work, () => {
      abandon?.();
      this.#connection.destroy();
    });
  }

  async consume(options: ConsumeOptions, handler: DeliveryHandler): Promise<Consumer> {
    for (const queue of options.queues) this.#usedQueues.add(queue);
    const consumer = new RabbitConsumer(this.#connection, this.#topology, this.#publisher, options, handler, this.#prefetch);
    await this.#bounded("start a worker", consumer.start(), () => {
      consumer.abandon().catch(() => {});
    });
    this.#consumers.add(consumer);
    return consumer;
  }

  /**
   * Peek at a queue's dead letters, newest first: read them without acknowledging, then close the
   * channel, which puts every one back where it was.
   */
  async listDeadLetters(queue: string, limit: number): Promise<JobInfo[]> {
    await this.#topology.ensureQueues([queue]);
    const letters = await this.#connection.withChannel(async (channel) => {
      const out: JobInfo[] = [];
      for (;;) {
        const msg = await channel.get(deadLetterQueueName(queue), { noAck: false });
        if (msg === false) break;
        const message = readMessage(msg);
        let payload: unknown;
        try {
          payload = JSON.parse(msg.content.toString("utf8"));
        } catch {
          payload = msg.content.toString("utf8");
        }
        const error = readError(msg.properties.headers);
        const failedAt = Number(msg.properties.headers?.["taskport-failed-at"]);
        out.push({
          id: message.id,
          name: message.name,
          queue,
          status: "failed",
          payload,
          attempt: message.attempt,
          maxAttempts: message.maxAttempts,
          ...(error ? { error } : {}),
          ...(message.enqueuedAt !== undefined ? { enqueuedAt: message.enqueuedAt } : {}),
          ...(Number.isFinite(failedAt) ? { finishedAt: failedAt } : {}),
        });
      }
      return out;
    });
    return letters.reverse().slice(0, limit);
  }

  /**
   * Send dead letters back to their work queue as fresh jobs (attempt 1, due now). Each goes back
   * through the confirming publisher, and only once the broker confirmed every copy are the letters
   * acked: a crash or lost connection in between leaves them dead as well as queued (the job runs,
   * a second redrive would run it again), never lost. Letters not asked for go back unacked when the
   * channel closes. Only the letters there when the redrive began are looked at, so a redriven job
   * that fails again at once is not redriven again by the same call.
   */
  async redrive(queue: string, ids?: readonly string[]): Promise<number> {
    await this.#topology.ensureQueues([queue]);
    const wanted = ids ? new Set(ids) : undefined;
    return this.#connection.withChannel(async (channel) => {
      const chosen = await takeLetters(channel, queue, wanted);
      if (chosen.length === 0) return 0;
      const again = chosen.map(({ message }) => ({ queue, message: withoutRunAt({ ...message, attempt: 1 }) }));
      await this.#bounded("redrive", this.#publisher.send(again));
      for (const { msg } of chosen) channel.ack(msg);
      // The acks must reach the broker before the channel closes (a close does not drop sent frames,
      // but a round trip makes sure of it before the count is reported).
      await channel.checkQueue(deadLetterQueueName(queue));
      return chosen.length;
    });
  }

  /**
   * Remove dead letters for good: the chosen letters are acked, and nothing is published, so they
   * never run again (with no job record on the broker, there is nothing else to forget). Letters
   * not asked for go back unacked when the channel closes, as in a redrive.
   */
  async discardDeadLetters(queue: string, ids?: readonly string[]): Promise<number> {
    await this.#topology.ensureQueues([queue]);
    const wanted = ids ? new Set(ids) : undefined;
    return this.#connection.withChannel(async (channel) => {
      const chosen = await takeLetters(channel, queue, wanted);
      if (chosen.length === 0) return 0;
      for (const { msg } of chosen) channel.ack(msg);
      await channel.checkQueue(deadLetterQueueName(queue));
      return chosen.length;
    });
  }

  async check(): Promise<CheckProblem[]> {
    try {
      await this.#connection.model();
    } catch (error) {
      return [{ message: explainConnectError(error, this.#connection.settings.where).message }];
    }
    const problems: CheckProblem[] = [];
    for (const queue of new Set([...(this.#options.queues ?? []), ...this.#usedQueues])) {
      const conflict = await this.#bounded("check()", this.#topology.conflictOf(queue)).catch((error: unknown) =>
        error instanceof Error ? error.message : String(error),
      );
      if (conflict) problems.push({ message: conflict });
    }
    return problems;
  }

  async close(): Promise<void> {
    const consumers = [...this.#consumers];
    this.#consumers.clear();
    // A broker that never answers would hold the channels' and the connection's close: past
    // closeMs their sockets are destroyed and close() returns.
    await closeWithin(
      this.#timeouts.closeMs,
      async () => {
        await Promise.allSettled(consumers.map((consumer) => consumer.abandon()));
        await this.#connection.close();
      },
      () => this.#connection.destroy(),
    );
  }
}

/**
 * Get the letters of `queue`'s dead-letter queue with `wanted` ids (or all), unacked, for the caller to
 * ack. Only the letters there when the first get answered are looked at, so a letter that arrives
 * meanwhile (a job that fails again at once after a redrive) is not taken by the same call.
 */
async function takeLetters(
  channel: Channel,
  queue: string,
  wanted: Set<string> | undefined,
): Promise<{ msg: GetMessage; message: JobMessage }[]> {
  const chosen: { msg: GetMessage; message: JobMessage }[] = [];
  let remaining = Number.POSITIVE_INFINITY;
  while (remaining > 0 && (wanted === undefined || wanted.size > 0)) {
    const msg = await channel.get(deadLetterQueueName(queue), { noAck: false });
    if (msg === false) break;
    // The first get tells how many letters are behind it: later arrivals are not this call's.
    remaining = Math.min(remaining, msg.fields.messageCount + 1) - 1;
    const message = readMessage(msg);
    if (wanted !== undefined && !wanted.has(message.id)) continue;
    wanted?.delete(message.id);
    chosen.push({ msg, message });
  }
  return chosen;
}

/** A redriven job is due now: a delay it once had is long past. */
function withoutRunAt(message: JobMessage): JobMessage {
  const { runAt: _runAt, ...rest } = message;
  return rest;
}

function parseUrl(text: string): URL {
  try {
    return new URL(text);
  } catch {
    throw new ConfigurationError("rabbitmq", `"${redactUrl(text)}" is not a valid URL. Write amqp://user:password@host:5672/vhost.`);
  }
}

function describeConnection(connection: Options.Connect): string {
  const vhost = connection.vhost ?? "/";
  return `${connection.protocol ?? "amqp"}://${connection.username ?? "guest"}@${connection.hostname ?? "localhost"}:${connection.port ?? 5672}/${encodeURIComponent(vhost)}`;
}

/** Core loads this for `amqp://` and `amqps://` URLs. */
export const createAdapter: AdapterFactory = (url: URL) => new RabbitMQAdapter({ url: url.toString() });

/**
 * The heartbeat taskport asks for when the app names none: 10 s, so a connection that goes silent
 * (a partition, a dead NAT mapping) is noticed within about 20 s and replaced. amqplib otherwise
 * takes the broker's 60 s, and a silent worker would wait two minutes before it noticed.
 */
export const DEFAULT_HEARTBEAT_SECONDS = 10;

function withHeartbeat(target: string | Options.Connect): string | Options.Connect {
  if (typeof target !== "string") return { heartbeat: DEFAULT_HEARTBEAT_SECONDS, ...target };
  const url = new URL(target);
  if (url.searchParams.has("heartbeat")) return target;
  url.searchParams.set("heartbeat", String(DEFAULT_HEARTBEAT_SECONDS));
  return url.toString();
}
