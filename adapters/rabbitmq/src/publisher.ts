import { PayloadTooLargeError } from "@taskport/core";
import type { ConfirmChannel } from "amqplib";
import type { AmqpConnection } from "./connection.ts";
import { chooseBucket, DELAY_EXCHANGE } from "./delay-buckets.ts";
import { HEADER, type JobMessage, publishOptions } from "./message-format.ts";
import { deadLetterQueueName, type Topology } from "./topology.ts";

/** One message to send: to its work queue (through a delay bucket while its `runAt` is ahead), or to the queue's dead letters. */
export interface Outgoing {
  readonly queue: string;
  readonly message: JobMessage;
  readonly deadLetter?: boolean;
  readonly extraHeaders?: Record<string, unknown>;
}

/**
 * Publishes with publisher confirms: `send` resolves once the broker has taken every message,
 * persistent, into durable queues. After a lost connection it reconnects and sends again
 * (at-least-once: a message confirmed just before the loss may then exist twice).
 */
export class Publisher {
  readonly #connection: AmqpConnection;
  readonly #topology: Topology;
  readonly #maxBucketMs: number;

  constructor(connection: AmqpConnection, topology: Topology, maxBucketMs: number) {
    this.#connection = connection;
    this.#topology = topology;
    this.#maxBucketMs = maxBucketMs;
  }

  send(items: readonly Outgoing[]): Promise<void> {
    return this.#connection.retrying(() => this.#sendOnce(items));
  }

  async #sendOnce(items: readonly Outgoing[]): Promise<void> {
    const queues = items.length === 1 ? [items[0]?.queue as string] : [...new Set(items.map((item) => item.queue))];
    if (!this.#topology.ready(queues)) await this.#topology.ensureQueues(queues);
    const now = Date.now();
    const routes = items.map((item) => {
      const remaining = item.deadLetter ? 0 : (item.message.runAt ?? 0) - now;
      return remaining > 0 ? chooseBucket(remaining, this.#maxBucketMs) : undefined;
    });
    const buckets = [...new Set(routes.filter((ttl) => ttl !== undefined))];
    if (buckets.length > 0) await Promise.all(buckets.map((ttl) => this.#topology.ensureBucket(ttl)));
    const channel = this.#connection.openPublisher() ?? (await this.#connection.publisher());
    const confirms: Promise<void>[] = [];
    for (const [i, item] of items.entries()) {
      const ttl = routes[i];
      const extra = ttl === undefined ? item.extraHeaders : { ...item.extraHeaders, [HEADER.bucket]: String(ttl) };
      const options = publishOptions(item.message, extra);
      const exchange = ttl === undefined ? "" : DELAY_EXCHANGE;
      const routingKey = item.deadLetter ? deadLetterQueueName(item.queue) : item.queue;
      let ok = true;
      confirms.push(
        new Promise<void>((resolve, reject) => {
          ok = channel.publish(exchange, routingKey, item.message.body, options, (error) => (error ? reject(error) : resolve()));
        }),
      );
      if (!ok) await drained(channel);
    }
    try {
      await (confirms.length === 1 ? confirms[0] : Promise.all(confirms));
    } catch (error) {
      throw tooLarge(error) ?? error;
    }
  }
}

function drained(channel: ConfirmChannel): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      channel.off("drain", done);
      channel.off("close", done);
      resolve();
    };
    channel.once("drain", done);
    channel.once("close", done);
  });
}

/** The broker refuses a message over its `max_message_size` by closing the channel with this text. */
function tooLarge(error: unknown): PayloadTooLargeError | undefined {
  const match = /message size (\d+) is larger than configured max size (\d+)/.exec(String((error as Error)?.message ?? error));
  return match ? new PayloadTooLargeError("rabbitmq", Number(match[1]), Number(match[2])) : undefined;
}
