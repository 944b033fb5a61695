import { ListQueuesCommand, SQSClient, type SQSClientConfig } from "@aws-sdk/client-sqs";
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
  PayloadTooLargeError,
  resolveTimeouts,
  type Timeouts,
} from "@taskport/core";
import { AckBatcher } from "./ack-batcher.ts";
import { SqsConsumer } from "./consumer.ts";
import { discardDeadLetters, peekDeadLetters, redriveDeadLetters } from "./dead-letters.ts";
import { ATTRIBUTE, ATTRIBUTE_RESERVE_BYTES, jobToMessage, messageBytes } from "./message-format.ts";
import { deadLetterQueueName, QueueRegistry, sqsQueueName } from "./queue-registry.ts";
import { deduplicationId, type Outgoing, Sender } from "./sender.ts";
import { explainSqsError } from "./sqs-errors.ts";
import {
  FIFO_DEDUPLICATION_WINDOW_MS,
  MAX_DELAY_MS,
  MAX_MESSAGE_BYTES,
  MAX_VISIBILITY_SECONDS,
  ORIGIN,
  VISIBILITY_MARGIN_SECONDS,
} from "./sqs-limits.ts";
import { parseUrlOptions } from "./url-options.ts";

export interface SqsAdapterOptions {
  /** `sqs://?region=eu-west-1` (AWS), `sqs://key:secret@127.0.0.1:4566?region=us-east-1` (an emulator). See the README. */
  readonly url?: string | URL;
  /** Your own client; the adapter uses it as it is and never destroys it. Exclusive with `url`, `region`, `endpoint`, `credentials`. */
  readonly client?: SQSClient;
  readonly region?: string;
  /** `http(s)://host:port`; absent means AWS's endpoint for the region. */
  readonly endpoint?: string;
  /** Static credentials; absent means the SDK's chain (environment, shared config, instance or task role). */
  readonly credentials?: SQSClientConfig["credentials"];
  /** Use FIFO queues (`<queue>.fifo`): order within a message group, deduplication ids. Default false. */
  readonly fifo?: boolean;
  /** FIFO queues: the message group of a job, the scope of its ordering. Default: its queue name (one order per queue). */
  readonly messageGroupId?: (job: NewJob) => string;
  /** Create missing queues (and dead-letter queues) on first use. Default false: queues are infrastructure. */
  readonly createQueues?: boolean;
  /** Jobs that fail for good go to `<queue>-dlq` (default true); false deletes them (the worker still emits `failed`). */
  readonly deadLetter?: boolean;
  /** `maxReceiveCount` of the RedrivePolicy on queues this adapter creates. Default 1000 (SQS's maximum). */
  readonly maxReceiveCount?: number;
  /** Seconds a received message stays hidden; the heartbeat extends it every third of it. Default 30. */
  readonly visibilityTimeout?: number;
  /** Extend the visibility of running jobs (default true). Without it a job must finish within `visibilityTimeout`. */
  readonly heartbeat?: boolean;
  /**
   * Bounds on calls to SQS: `{ connectMs, operationMs, closeMs }`, default 10 s, 30 s, 10 s. The
   * client this adapter builds gets the SDK's `connectionTimeout` (connectMs) and `requestTimeout`
   * (operationMs, or longer than a long poll's wait). An enqueue, `check()` or a worker's setup past
   * operationMs is a `DeadlineError`; `close()` destroys the client's sockets after closeMs. A
   * worker's long poll is not bounded by it.
   */
  readonly timeouts?: Partial<Timeouts>;
  /** Long-poll wait of ReceiveMessage, 0–20 s. Default 20. */
  readonly waitTimeSeconds?: number;
  /** ReceiveMessage loops per queue per worker. Default ⌈concurrency / 10⌉, at most 10. */
  readonly pollers?: number;
  /** Longest single delay hop in ms: 900 000 (DelaySeconds) on standard queues, 43 140 000 (a 12-hour visibility) on FIFO queues. */
  readonly maxNativeDelayMs?: number;
  /** Largest message SQS accepts, in bytes. Default 262 144 (256 KiB). */
  readonly maxMessageBytes?: number;
  /** Queues `check()` verifies, besides those this adapter has used. */
  readonly queues?: readonly string[];
  /** The longest task timeout on these queues, in ms, for `check()` to compare with what a lease can cover. */
  readonly taskTimeoutMs?: number;
}

/** Longest hold of a FIFO delay's timer: SQS's 12-hour visibility ceiling, less the margin. */
const FIFO_MAX_HOLD_MS = (MAX_VISIBILITY_SECONDS - VISIBILITY_MARGIN_SECONDS) * 1000;
/** Sockets of the client this adapter builds (the SDK's default is 50). */
const MAX_SOCKETS = 500;
/** A long poll's socket is silent for its whole wait: the SDK's requestTimeout must outlast it by this much. */
const LONG_POLL_MARGIN_MS = 5_000;

/**
 * taskport over Amazon SQS (AWS SDK v3). SQS keeps messages, not jobs: delays are `DelaySeconds`
 * in hops of at most 15 minutes, the lease is the visibility timeout (extended by a heartbeat),
 * retries are visibility changes, dead letters a second queue. Nothing connects until the first
 * call that needs SQS.
 */
export class SqsAdapter implements Adapter {
  readonly name = "sqs";
  readonly capabilities: Capabilities;
  readonly #options: SqsAdapterOptions;
  readonly #config: SQSClientConfig | undefined;
  readonly #where: string;
  readonly #queues: QueueRegistry;
  readonly #sender: Sender;
  readonly #acks: AckBatcher;
  readonly #consumers = new Set<SqsConsumer>();
  readonly #usedQueues = new Set<string>();
  /** Queues `check()` verifies besides those used: the `queues` option or URL parameter. */
  readonly #checkedQueues: readonly string[];
  readonly #fifo: boolean;
  readonly #deadLetter: boolean;
  readonly #visibility: number;
  readonly #waitTimeSeconds: number;
  readonly #pollers: number | undefined;
  readonly #hopSeconds: number;
  readonly #maxMessageBytes: number;
  #client: SQSClient | undefined;
  #longestTimeoutMs = 0;
  readonly #timeouts: Timeouts;

  constructor(options: SqsAdapterOptions = {}) {
    if (options.client && (options.url || options.region || options.endpoint || options.credentials)) {
      throw new ConfigurationError(
        ORIGIN,
        "give either your own `client`, or `url`/`region`/`endpoint`/`credentials` to build one — not both.",
      );
    }
    const parsed = options.url !== undefined ? parseUrlOptions(typeof options.url === "string" ? parseUrl(options.url) : options.url) : {};
    this.#options = options;
    this.#timeouts = resolveTimeouts({ ...parsed.timeouts, ...options.timeouts }, ORIGIN);
    this.#checkedQueues = options.queues ?? parsed.queues ?? [];
    this.#fifo = options.fifo ?? parsed.fifo ?? false;
    this.#deadLetter = options.deadLetter ?? parsed.deadLetter ?? true;
    this.#visibility = integer("visibilityTimeout", options.visibilityTimeout ?? parsed.visibilityTimeout ?? 30, 1, MAX_VISIBILITY_SECONDS);
    this.#waitTimeSeconds = integer("waitTimeSeconds", options.waitTimeSeconds ?? parsed.waitTimeSeconds ?? 20, 0, 20);
    const pollers = options.pollers ?? parsed.pollers;
    this.#pollers = pollers === undefined ? undefined : integer("pollers", pollers, 1, 100);
    // A FIFO delay is held by visibility, which may last 12 hours from a receive: fewer, longer hops.
    const longestHop = this.#fifo ? FIFO_MAX_HOLD_MS : MAX_DELAY_MS;
    const maxDelay = integer("maxNativeDelayMs", options.maxNativeDelayMs ?? longestHop, 1, longestHop);
    this.#hopSeconds = Math.max(1, Math.floor(maxDelay / 1000));
    this.#maxMessageBytes = integer("maxMessageBytes", options.maxMessageBytes ?? MAX_MESSAGE_BYTES, 4096, 1_048_576);
    const maxReceiveCount = integer("maxReceiveCount", options.maxReceiveCount ?? 1000, 1, 1000);

    const region = options.region ?? parsed.region;
    const endpoint = options.endpoint ?? parsed.endpoint;
    const credentials = options.credentials ?? parsed.credentials;
    if (options.client) {
      this.#client = options.client;
      this.#where = "the given SQSClient";
    } else {
      // An emulator needs some region to sign with; AWS itself takes it from the SDK's chain when absent.
      this.#config = {
        // Each poller holds a socket for its long poll (up to 20 s); the SDK's default of 50 sockets
        // would leave heartbeats and deletes queued behind them on a worker with many queues.
        requestHandler: {
          httpAgent: { maxSockets: MAX_SOCKETS },
          httpsAgent: { maxSockets: MAX_SOCKETS },
          // The SDK's own bounds: a socket that does not connect, and a request whose socket stays
          // silent, fail and are retried by the SDK. A long poll is silent for its whole wait.
          connectionTimeout: this.#timeouts.connectMs,
          requestTimeout: Math.max(this.#timeouts.operationMs, this.#waitTimeSeconds * 1_000 + LONG_POLL_MARGIN_MS),
          // Without it the SDK only logs a warning past requestTimeout and keeps waiting.
          throwOnRequestTimeout: true,
        },
        ...(region !== undefined ? { region } : endpoint !== undefined ? { region: "us-east-1" } : {}),
        ...(endpoint !== undefined ? { endpoint } : {}),
        ...(credentials !== undefined ? { credentials } : {}),
      };
      this.#where = endpoint ?? `AWS SQS (${region ?? "region from the SDK's configuration"})`;
    }

    this.capabilities = Object.freeze({
      // Standard queues: DelaySeconds. FIFO queues refuse it: a delayed job waits hidden by its visibility.
      delay: true,
      maxNativeDelayMs: maxDelay,
      // SQS has no priorities: route urgent jobs to a separate queue.
      priority: false,
      // SQS keeps messages, not outcomes: nothing to read a status or result back from.
      results: false,
      // A message can only be deleted by whoever received it.
      cancel: false,
      // FIFO queues drop a repeated MessageDeduplicationId for 5 minutes; standard queues have none.
      deduplication: this.#fifo ? "window" : false,
      ...(this.#fifo ? { deduplicationWindowMs: FIFO_DEDUPLICATION_WINDOW_MS } : {}),
      // SendMessageBatch, chunks of 10 sent concurrently.
      nativeBulkEnqueue: true,
      transactions: false,
      // FIFO: in order within a message group (by default the queue). Standard queues are best-effort.
      ordering: this.#fifo ? "fifo" : "none",
      progress: false,
      deadLetter: this.#deadLetter,
      // Attempts come from ApproximateReceiveCount, which also counts receives no worker saw (a
      // dead or stopping worker's long poll): not a count of crashes, so it stops at maxAttempts.
      crashCountsAsAttempt: false,
      // Receive from the dead-letter queue, send to the queue, then delete the letter.
      redrive: this.#deadLetter,
      // Receive from the dead-letter queue and delete, sending nothing.
      discardDeadLetters: this.#deadLetter,
      // One message attribute, `tp.headers` (JSON); kept on delay hops, retries, dead letters and redrive.
      headers: true,
      maxPayloadBytes: this.#maxMessageBytes - ATTRIBUTE_RESERVE_BYTES,
    } satisfies Capabilities);

    const client = () => this.#sqs();
    this.#queues = new QueueRegistry(client, {
      fifo: this.#fifo,
      createQueues: options.createQueues ?? parsed.createQueues ?? false,
      deadLetter: this.#deadLetter,
      maxReceiveCount,
      visibilityTimeout: this.#visibility,
    });
    this.#sender = new Sender(client, this.#queues, this.#maxMessageBytes);
    this.#acks = new AckBatcher(client);
  }

  /** The SDK client, created on first use (creating it opens no socket either). */
  #sqs(): SQSClient {
    this.#client ??= new SQSClient(this.#config ?? {});
    return this.#client;
  }

  async enqueue(jobs: readonly NewJob[]): Promise<EnqueueReceipt[]> {
    if (jobs.length === 0) return [];
    const now = Date.now();
    const outgoing = new Array<Outgoing>(jobs.length);
    const sizes = new Array<number>(jobs.length);
    // Everything is checked before the first call: a batch with one bad job sends nothing.
    for (let i = 0; i < jobs.length; i++) {
      const job = jobs[i] as NewJob;
      const message = jobToMessage(job);
      const out: { -readonly [K in keyof Outgoing]: Outgoing[K] } = {
        queue: job.queue,
        id: job.id,
        body: message.body,
        attributes: message.attributes,
      };
      const delayed = job.runAt !== undefined && job.runAt > now;
      if (this.#fifo) {
        const group = this.#options.messageGroupId?.(job) ?? job.queue;
        out.deduplicationId = deduplicationId(job.deduplicationKey ?? job.id);
        if (delayed) {
          // FIFO queues take no DelaySeconds: the job waits as a timer in a group of its own, hidden
          // by its visibility, then joins its group when due (see the consumer).
          out.groupId = `delay-${job.id}`;
          message.attributes[ATTRIBUTE.group] = { DataType: "String", StringValue: group };
        } else {
          out.groupId = group;
        }
      } else if (delayed) {
        out.delaySeconds = Math.min(this.#hopSeconds, Math.ceil(((job.runAt as number) - now) / 1000));
      }
      const size = messageBytes(message.body, message.attributes);
      if (size > this.#maxMessageBytes) {
        const bodyBytes = Buffer.byteLength(message.body);
        throw new PayloadTooLargeError(ORIGIN, bodyBytes, this.#maxMessageBytes - (size - bodyBytes));
      }
      if (job.timeoutMs !== undefined && job.timeoutMs > this.#longestTimeoutMs) this.#longestTimeoutMs = job.timeoutMs;
      this.#usedQueues.add(job.queue);
      outgoing[i] = out;
      sizes[i] = size;
    }
    try {
      await this.#bounded(
        outgoing.length === 1 ? "enqueue" : "enqueueMany",
        outgoing.length === 1 ? this.#sender.sendOne(outgoing[0] as Outgoing, sizes[0] as number) : this.#sender.send(outgoing, sizes),
      );
    } catch (error) {
      throw explainSqsError(error, this.#where, "enqueue");
    }
    return jobs.map((job) => ({ id: job.id }));
  }

  async consume(options: ConsumeOptions, handler: DeliveryHandler): Promise<Consumer> {
    for (const queue of options.queues) this.#usedQueues.add(queue);
    const consumer = new SqsConsumer(
      { client: () => this.#sqs(), queues: this.#queues, sender: this.#sender, acks: this.#acks },
      {
        visibilityTimeout: this.#visibility,
        heartbeat: this.#options.heartbeat ?? true,
        waitTimeSeconds: this.#waitTimeSeconds,
        pollers: this.#pollers,
        fifo: this.#fifo,
        deadLetter: this.#deadLetter,
        hopSeconds: this.#hopSeconds,
        maxMessageBytes: this.#maxMessageBytes,
        where: this.#where,
      },
      options,
      handler,
    );
    try {
      await this.#bounded("start a worker", consumer.start());
    } catch (error) {
      await consumer.abandon();
      throw explainSqsError(error, this.#where, `consume from ${options.queues.join(", ")}`);
    }
    this.#consumers.add(consumer);
    return consumer;
  }

  /** Peek at a queue's dead letters, newest first (see `peekDeadLetters`). */
  async listDeadLetters(queue: string, limit: number): Promise<JobInfo[]> {
    if (!this.#deadLetter) return [];
    try {
      return await peekDeadLetters(this.#sqs(), await this.#queues.deadLetterUrl(queue), queue, limit);
    } catch (error) {
      throw explainSqsError(error, this.#where, `list the dead letters of "${queue}"`);
    }
  }

  /**
   * Send dead letters back to their queue as fresh messages (attempts come from the receive count,
   * which starts over), each deleted from the dead letters only after SQS took its copy: a crash
   * in between duplicates a job, never loses one.
   */
  async redrive(queue: string, ids?: readonly string[]): Promise<number> {
    if (!this.#deadLetter) return 0;
    this.#usedQueues.add(queue);
    try {
      return await redriveDeadLetters(this.#sqs(), await this.#queues.deadLetterUrl(queue), ids, async (letters) => {
        const outgoing = letters.map(
          (letter): Outgoing => ({
            queue,
            id: letter.id,
            body: letter.body,
            attributes: letter.attributes,
            // FIFO: the queue's default group (the group a job was given is not kept on its letter), and
            // one deduplication id per letter, so a redrive retried after a crash sends it once.
            ...(this.#fifo ? { groupId: queue, deduplicationId: deduplicationId(`${letter.id}-redrive-${letter.letterId}`) } : {}),
          }),
        );
        await this.#sender.send(
          outgoing,
          outgoing.map((m) => messageBytes(m.body, m.attributes)),
        );
      });
    } catch (error) {
      throw explainSqsError(error, this.#where, `redrive the dead letters of "${queue}"`);
    }
  }

  /** Delete dead letters for good: with no job record on SQS, nothing else is left to forget. */
  async discardDeadLetters(queue: string, ids?: readonly string[]): Promise<number> {
    if (!this.#deadLetter) return 0;
    try {
      return await discardDeadLetters(this.#sqs(), await this.#queues.deadLetterUrl(queue), ids);
    } catch (error) {
      throw explainSqsError(error, this.#where, `discard the dead letters of "${queue}"`);
    }
  }

  async check(): Promise<CheckProblem[]> {
    try {
      // Any authenticated call proves the endpoint, the region and the credentials.
      await this.#bounded("check()", this.#sqs().send(new ListQueuesCommand({ MaxResults: 1 })));
    } catch (error) {
      return [{ message: explainSqsError(error, this.#where, "listing queues").message }];
    }
    const problems: CheckProblem[] = [];
    const timeout = Math.max(this.#options.taskTimeoutMs ?? 0, this.#longestTimeoutMs);
    if (timeout > MAX_VISIBILITY_SECONDS * 1000) {
      problems.push({
        message: `[taskport] [sqs] a task timeout of ${timeout} ms is longer than SQS lets a message stay hidden (12 hours from its receipt): such a job would be delivered again while it runs. Split the work into shorter jobs.`,
      });
    } else if (this.#options.heartbeat === false && timeout > this.#visibility * 1000) {
      problems.push({
        message: `[taskport] [sqs] visibilityTimeout is ${this.#visibility} s but a task may run ${timeout} ms, and the heartbeat is off: the job would be delivered again while it runs. Raise visibilityTimeout above the longest task timeout, or turn the heartbeat on.`,
      });
    }
    if (this.#queues.settings.createQueues) return problems;
    for (const queue of new Set([...this.#checkedQueues, ...this.#usedQueues])) {
      const names = [sqsQueueName(queue, this.#fifo), ...(this.#deadLetter ? [deadLetterQueueName(queue, this.#fifo)] : [])];
      for (const name of names) {
        try {
          if ((await this.#bounded("check()", this.#queues.existing(name))) === undefined) {
            problems.push({
              message: `[taskport] [sqs] queue "${name}" does not exist at ${this.#where}. Create it, or pass createQueues: true (URL: ?createQueues=true).`,
            });
          }
        } catch (error) {
          problems.push({ message: explainSqsError(error, this.#where, `looking up queue "${name}"`).message });
        }
      }
    }
    return problems;
  }

  /** A call bounded by operationMs: past it a DeadlineError naming the call and the endpoint. */
  #bounded<T>(operation: string, work: Promise<T>): Promise<T> {
    return deadline(ORIGIN, operation, this.#where, this.#timeouts.operationMs, work);
  }

  async close(): Promise<void> {
    const consumers = [...this.#consumers];
    this.#consumers.clear();
    // An endpoint that never answers would hold the consumers' last deletes: past closeMs the
    // client is destroyed anyway, which ends its sockets.
    await closeWithin(this.#timeouts.closeMs, () => Promise.allSettled(consumers.map((consumer) => consumer.abandon())));
    // A client the caller gave us is theirs to destroy.
    if (!this.#options.client) {
      this.#client?.destroy();
      this.#client = undefined;
    }
  }
}

function parseUrl(text: string): URL {
  try {
    return new URL(text);
  } catch {
    throw new ConfigurationError(ORIGIN, `"${text.replace(/\/\/[^@/]*@/, "//***@")}" is not a URL. Use e.g. sqs://?region=eu-west-1.`);
  }
}

function integer(name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigurationError(ORIGIN, `${name} must be a whole number from ${min} to ${max}, not ${value}.`);
  }
  return value;
}

/** Core's factory for `sqs://` URLs. */
export const createAdapter: AdapterFactory = (url) => new SqsAdapter({ url });
