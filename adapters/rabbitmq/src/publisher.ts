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
 * persistent, into durable queues. After a lost connection it reconnects and sends again the
 * messages whose confirms had not arrived (at-least-once: one the broker took just before the
 * loss, its confirm still on the wire, may then exist twice; a confirmed one is never sent again).
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
    // A batch remembers which messages the broker confirmed, so a retry resends only the rest;
    // a single message needs no record (it is the rest).
    const confirmed = items.length > 1 ? new Set<Outgoing>() : undefined;
    const unconfirmed = () => (confirmed ? items.filter((item) => !confirmed.has(item)) : items);
    // One attempt, no retry loop, unless the connection is lost under it.
    return this.#sendOnce(items, confirmed).catch((failed: unknown) =>
      this.#connection.retrying(() => this.#sendOnce(unconfirmed(), confirmed), { failed }),
    );
  }

  /** Publishes at once when the queues, the buckets and the channel are ready: the enqueue hot path awaits only the confirms. */
  #sendOnce(items: readonly Outgoing[], confirmed: Set<Outgoing> | undefined): Promise<void> {
    if (items.length === 0) return Promise.resolve();
    const channel = this.#connection.openPublisher();
    const single = items.length === 1 ? (items[0] as Outgoing) : undefined;
    const queues = single ? [single.queue] : [...new Set(items.map((item) => item.queue))];
    const routes = this.#routes(items);
    if (channel === undefined || routes !== undefined || !this.#topology.ready(queues))
      return this.#prepareThenPublish(items, queues, routes, confirmed);
    return single ? publishOne(channel, single, undefined) : publishAll(channel, items, undefined, confirmed);
  }

  /** Delay buckets of the items whose `runAt` is ahead (undefined when none is). */
  #routes(items: readonly Outgoing[]): (number | undefined)[] | undefined {
    let routes: (number | undefined)[] | undefined;
    const now = Date.now();
    for (let i = 0; i < items.length; i++) {
      const item = items[i] as Outgoing;
      const remaining = item.deadLetter ? 0 : (item.message.runAt ?? 0) - now;
      if (remaining <= 0) continue;
      routes ??= new Array<number | undefined>(items.length);
      routes[i] = chooseBucket(remaining, this.#maxBucketMs);
    }
    return routes;
  }

  async #prepareThenPublish(
    items: readonly Outgoing[],
    queues: readonly string[],
    routes: (number | undefined)[] | undefined,
    confirmed: Set<Outgoing> | undefined,
  ): Promise<void> {
    await this.#topology.ensureQueues(queues);
    if (routes !== undefined) {
      const buckets = new Set(routes.filter((ttl) => ttl !== undefined));
      await Promise.all([...buckets].map((ttl) => this.#topology.ensureBucket(ttl)));
    }
    const channel = this.#connection.openPublisher() ?? (await this.#connection.publisher());
    await publishAll(channel, items, routes, confirmed);
  }
}

/**
 * Publish every item, adding each to `confirmed` as its confirm arrives; when the channel's buffer
 * is full, wait for it to drain before the next.
 */
async function publishAll(
  channel: ConfirmChannel,
  items: readonly Outgoing[],
  routes: (number | undefined)[] | undefined,
  confirmed: Set<Outgoing> | undefined,
): Promise<void> {
  const confirms = new Array<Promise<void>>(items.length);
  for (let i = 0; i < items.length; i++) {
    let ok = true;
    confirms[i] = publishOne(channel, items[i] as Outgoing, routes?.[i], confirmed, (written) => {
      ok = written;
    });
    if (!ok && i < items.length - 1) await drained(channel);
  }
  await Promise.all(confirms);
}

/** Publish one message; resolves on the broker's confirm, after adding the item to `confirmed`. */
function publishOne(
  channel: ConfirmChannel,
  item: Outgoing,
  ttl: number | undefined,
  confirmed?: Set<Outgoing>,
  onWritten?: (ok: boolean) => void,
): Promise<void> {
  const extra = ttl === undefined ? item.extraHeaders : { ...item.extraHeaders, [HEADER.bucket]: String(ttl) };
  const options = publishOptions(item.message, extra);
  const exchange = ttl === undefined ? "" : DELAY_EXCHANGE;
  const routingKey = item.deadLetter ? deadLetterQueueName(item.queue) : item.queue;
  return new Promise<void>((resolve, reject) => {
    const ok = channel.publish(exchange, routingKey, item.message.body, options, (error) => {
      if (error) return reject(tooLarge(error) ?? error);
      confirmed?.add(item);
      resolve();
    });
    onWritten?.(ok);
  });
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
