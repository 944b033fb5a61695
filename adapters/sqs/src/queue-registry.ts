import { CreateQueueCommand, GetQueueAttributesCommand, GetQueueUrlCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { ConfigurationError } from "@taskport/core";
import { isQueueMissing } from "./sqs-errors.ts";
import { ORIGIN } from "./sqs-limits.ts";

/** SQS allows 80 characters; `-dlq` and `.fifo` must still fit. */
const MAX_NAME = 80 - "-dlq".length - ".fifo".length;
/** Dead letters are kept as long as SQS allows: 14 days. */
const DEAD_LETTER_RETENTION_SECONDS = 14 * 24 * 3600;

export interface QueueSettings {
  readonly fifo: boolean;
  /** Create missing queues (and their dead-letter queues) on first use. */
  readonly createQueues: boolean;
  /** Failed jobs go to `<queue>-dlq`; a RedrivePolicy on created queues points there too. */
  readonly deadLetter: boolean;
  /** Receives after which SQS itself moves a message to the dead-letter queue (a job that kills its worker every time). */
  readonly maxReceiveCount: number;
  /** The queue's default visibility timeout when this adapter creates it, in seconds. */
  readonly visibilityTimeout: number;
}

/** The SQS queue name for a taskport queue; throws on a name SQS cannot hold. */
export function sqsQueueName(queue: string, fifo: boolean): string {
  if (!/^[A-Za-z0-9_-]+$/.test(queue) || queue.length > MAX_NAME) {
    throw new ConfigurationError(
      ORIGIN,
      `queue "${queue}" cannot be an SQS queue name: use at most ${MAX_NAME} letters, digits, "-" or "_" (no "."; ".fifo" is added for FIFO queues).`,
    );
  }
  return fifo ? `${queue}.fifo` : queue;
}

export function deadLetterQueueName(queue: string, fifo: boolean): string {
  return sqsQueueName(`${queue}-dlq`, fifo);
}

/**
 * Maps taskport queue names to SQS queue URLs: resolved once and cached; created on demand only
 * when `createQueues` is set. A queue found missing later (deleted, emulator restarted) is
 * forgotten and resolved again.
 */
export class QueueRegistry {
  readonly #client: () => SQSClient;
  readonly #settings: QueueSettings;
  readonly #urls = new Map<string, Promise<string>>();

  constructor(client: () => SQSClient, settings: QueueSettings) {
    this.#client = client;
    this.#settings = settings;
  }

  get settings(): QueueSettings {
    return this.#settings;
  }

  /** URL of a work queue (and, when dead letters are on, make sure its dead-letter queue exists). */
  url(queue: string): Promise<string> {
    const name = sqsQueueName(queue, this.#settings.fifo);
    return this.#cached(name, () => this.#resolveWork(queue, name));
  }

  deadLetterUrl(queue: string): Promise<string> {
    const name = deadLetterQueueName(queue, this.#settings.fifo);
    return this.#cached(name, () => this.#resolve(name, { MessageRetentionPeriod: String(DEAD_LETTER_RETENTION_SECONDS) }));
  }

  /** Drop a cached URL, after SQS said the queue does not exist. */
  forget(queue: string): void {
    this.#urls.delete(sqsQueueName(queue, this.#settings.fifo));
    if (this.#settings.deadLetter) this.#urls.delete(deadLetterQueueName(queue, this.#settings.fifo));
  }

  /** URL of an existing queue by its SQS name, or undefined; never creates. For `check()`. */
  async existing(name: string): Promise<string | undefined> {
    try {
      const out = await this.#client().send(new GetQueueUrlCommand({ QueueName: name }));
      return out.QueueUrl;
    } catch (error) {
      if (isQueueMissing(error)) return undefined;
      throw error;
    }
  }

  #cached(name: string, resolve: () => Promise<string>): Promise<string> {
    let url = this.#urls.get(name);
    if (!url) {
      url = resolve();
      this.#urls.set(name, url);
      url.catch(() => this.#urls.delete(name));
    }
    return url;
  }

  async #resolveWork(queue: string, name: string): Promise<string> {
    const attributes: Record<string, string> = { VisibilityTimeout: String(this.#settings.visibilityTimeout) };
    if (this.#settings.deadLetter) {
      const dlqUrl = await this.deadLetterUrl(queue);
      if (this.#settings.createQueues) {
        const arn = await this.#client().send(new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ["QueueArn"] }));
        attributes.RedrivePolicy = JSON.stringify({
          deadLetterTargetArn: arn.Attributes?.QueueArn,
          maxReceiveCount: this.#settings.maxReceiveCount,
        });
      }
    }
    return this.#resolve(name, attributes);
  }

  async #resolve(name: string, attributes: Record<string, string>): Promise<string> {
    const found = await this.existing(name);
    if (found) return found;
    if (!this.#settings.createQueues) {
      throw new ConfigurationError(
        ORIGIN,
        `SQS queue "${name}" does not exist. Create it (see the adapter's README for the attributes), or pass createQueues: true (URL: ?createQueues=true) to create queues on first use.`,
      );
    }
    const out = await this.#client().send(
      new CreateQueueCommand({
        QueueName: name,
        Attributes: this.#settings.fifo ? { ...attributes, FifoQueue: "true" } : attributes,
      }),
    );
    if (!out.QueueUrl) throw new ConfigurationError(ORIGIN, `CreateQueue for "${name}" returned no queue URL.`);
    return out.QueueUrl;
  }
}
