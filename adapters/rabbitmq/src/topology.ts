import { ConfigurationError } from "@taskport/core";
import type { Channel, Options } from "amqplib";
import type { AmqpConnection } from "./connection.ts";
import { bucketExpiresMs, bucketQueueName, DELAY_EXCHANGE, redeclareAfterMs } from "./delay-buckets.ts";
import { HEADER } from "./message-format.ts";
import type { QueueType } from "./url-options.ts";

/** Where a queue's jobs go after their last attempt: an operator can read them and replay them. */
export function deadLetterQueueName(queue: string): string {
  return `${queue}.dead`;
}

/**
 * Declares what taskport needs on the broker, once per connection: work queues (durable, with
 * `x-max-priority` on classic queues, `x-delivery-limit` on quorum queues when asked), their
 * dead-letter queues, and delay buckets. Declarations run on a throwaway channel, since AMQP
 * answers a conflicting declaration by closing the channel.
 */
export class Topology {
  readonly #connection: AmqpConnection;
  readonly #queueType: QueueType;
  readonly #priorityLevels: number;
  readonly #deliveryLimit: number | undefined;
  #generation = -1;
  readonly #queues = new Map<string, Promise<void>>();
  readonly #ready = new Set<string>();
  /** Bucket TTL → when it was last declared (ms), for `redeclareAfterMs`. */
  readonly #buckets = new Map<number, { at: number; done: Promise<void> }>();

  constructor(connection: AmqpConnection, queueType: QueueType, priorityLevels: number, deliveryLimit: number | undefined) {
    this.#connection = connection;
    this.#queueType = queueType;
    this.#priorityLevels = priorityLevels;
    this.#deliveryLimit = deliveryLimit;
  }

  /**
   * Quorum queues count the times a message went back to the queue unsettled (`x-delivery-count`):
   * its worker died, or a channel closed under it. Classic queues count nothing.
   */
  get countsDeliveries(): boolean {
    return this.#queueType === "quorum";
  }

  workQueueArguments(queue: string): Options.AssertQueue {
    const args: Record<string, unknown> = { "x-queue-type": this.#queueType };
    if (this.#queueType === "classic" && this.#priorityLevels > 0) args["x-max-priority"] = this.#priorityLevels;
    if (this.#deliveryLimit !== undefined) {
      // A message returned unsettled more often than this (its worker died each time) goes to the
      // queue's dead letters rather than round again; without a dead-letter target the broker drops it.
      args["x-delivery-limit"] = this.#deliveryLimit;
      args["x-dead-letter-exchange"] = "";
      args["x-dead-letter-routing-key"] = deadLetterQueueName(queue);
    }
    return { durable: true, arguments: args };
  }

  #sync(): void {
    if (this.#generation !== this.#connection.generation) {
      this.#generation = this.#connection.generation;
      this.#queues.clear();
      this.#ready.clear();
      this.#buckets.clear();
    }
  }

  /** Declared on the current connection already: the enqueue hot path then awaits nothing here. */
  ready(queues: readonly string[]): boolean {
    if (this.#generation !== this.#connection.generation || !this.#connection.connected) return false;
    for (const queue of queues) if (!this.#ready.has(queue)) return false;
    return true;
  }

  /** The queue is gone (its consumer was cancelled by the server): declare it again on next use. */
  forget(queue: string): void {
    this.#queues.delete(queue);
    this.#ready.delete(queue);
  }

  async ensureQueues(queues: readonly string[]): Promise<void> {
    if (this.ready(queues)) return;
    await this.#connection.model();
    this.#sync();
    const missing = queues.filter((queue) => !this.#queues.has(queue));
    if (missing.length > 0) {
      const declaring = this.#connection.withChannel(async (channel) => {
        for (const queue of missing) await this.#declareQueue(channel, queue);
      });
      for (const queue of missing) this.#queues.set(queue, declaring);
      const generation = this.#generation;
      declaring.then(
        () => {
          if (generation === this.#generation) for (const queue of missing) this.#ready.add(queue);
        },
        () => {},
      );
      declaring.catch(() => {
        for (const queue of missing) if (this.#queues.get(queue) === declaring) this.#queues.delete(queue);
      });
    }
    await Promise.all(queues.map((queue) => this.#queues.get(queue)));
  }

  async #declareQueue(channel: Channel, queue: string): Promise<void> {
    try {
      await channel.assertQueue(queue, this.workQueueArguments(queue));
    } catch (error) {
      throw this.#conflict(queue, error);
    }
    await channel.assertQueue(deadLetterQueueName(queue), { durable: true, arguments: { "x-queue-type": "classic" } });
  }

  #conflict(queue: string, error: unknown): Error {
    const message = error instanceof Error ? error.message : String(error);
    if (!/PRECONDITION_FAILED|inequivalent/i.test(message)) return error as Error;
    return new ConfigurationError(
      "rabbitmq",
      `queue "${queue}" already exists with other arguments than taskport declares (${JSON.stringify(this.workQueueArguments(queue).arguments)}): ${message.split("\n")[0]}. ` +
        "Delete the queue (after draining it), or set queueType/maxPriority/deliveryLimit to match how it was declared.",
    );
  }

  /** Check one queue without creating it: undefined when it is missing or matches. */
  async conflictOf(queue: string): Promise<string | undefined> {
    const exists = await this.#connection
      .withChannel((channel) => channel.checkQueue(queue))
      .then(
        () => true,
        () => false,
      );
    if (!exists) return undefined;
    try {
      await this.#connection.withChannel((channel) => this.#declareQueue(channel, queue));
      return undefined;
    } catch (error) {
      return error instanceof Error ? error.message : String(error);
    }
  }

  async ensureBucket(ttlMs: number): Promise<void> {
    await this.#connection.model();
    this.#sync();
    const known = this.#buckets.get(ttlMs);
    if (known && Date.now() - known.at < redeclareAfterMs(ttlMs)) return known.done;
    const done = this.#connection.withChannel(async (channel) => {
      await channel.assertExchange(DELAY_EXCHANGE, "headers", { durable: true });
      const name = bucketQueueName(ttlMs);
      await channel.assertQueue(name, {
        durable: true,
        arguments: {
          "x-queue-type": "classic",
          "x-message-ttl": ttlMs,
          "x-expires": bucketExpiresMs(ttlMs),
          // The default exchange, with the message's own routing key: its work queue.
          "x-dead-letter-exchange": "",
        },
      });
      await channel.bindQueue(name, DELAY_EXCHANGE, "", { "x-match": "all", [HEADER.bucket]: String(ttlMs) });
    });
    this.#buckets.set(ttlMs, { at: Date.now(), done });
    done.catch(() => {
      if (this.#buckets.get(ttlMs)?.done === done) this.#buckets.delete(ttlMs);
    });
    return done;
  }
}
