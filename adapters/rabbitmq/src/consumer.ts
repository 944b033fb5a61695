import { setTimeout as sleep } from "node:timers/promises";
import {
  ConnectionError,
  type ConsumeOptions,
  type Consumer,
  type Delivery,
  type DeliveryHandler,
  SerializationError,
  type Settlement,
} from "@taskport/core";
import type { Channel, ConsumeMessage } from "amqplib";
import { AckBatcher } from "./ack-batcher.ts";
import { type AmqpConnection, closeOrLose } from "./connection.ts";
import { HEADER, type JobMessage, readMessage } from "./message-format.ts";
import type { Publisher } from "./publisher.ts";
import type { Topology } from "./topology.ts";

interface Received {
  readonly channel: Channel;
  /** Acknowledges on `channel`. */
  readonly acks: AckBatcher;
  readonly queue: string;
  readonly msg: ConsumeMessage;
}

/**
 * One worker's consumption: its own channel on the adapter's connection, one AMQP consumer per
 * queue, prefetch equal to the concurrency. A lost channel or connection is re-established by
 * itself; what was unacknowledged on it goes back to the queue on the broker's side.
 */
export class RabbitConsumer implements Consumer {
  readonly #connection: AmqpConnection;
  readonly #topology: Topology;
  readonly #publisher: Publisher;
  readonly #options: ConsumeOptions;
  readonly #handler: DeliveryHandler;
  readonly #prefetch: number;
  #channel: Channel | undefined;
  #acks: AckBatcher | undefined;
  #tags: string[] = [];
  #running = 0;
  /** Handler bodies running on past their job's settlement: each still holds its slot. */
  #overrunning = 0;
  /** The prefetch the current consumers were started with; 0 while none is. */
  #consumingWith = 0;
  /** Consumers are replaced one change at a time. */
  #refitting: Promise<void> = Promise.resolve();
  /** Received beyond the concurrency (several queues share one limit): not started, so returnable. */
  readonly #waiting: Received[] = [];
  readonly #inFlight = new Set<Promise<void>>();
  #stopping: Promise<void> | undefined;
  #abandoned = false;
  #resubscribing = false;

  constructor(
    connection: AmqpConnection,
    topology: Topology,
    publisher: Publisher,
    options: ConsumeOptions,
    handler: DeliveryHandler,
    prefetch: number | undefined,
  ) {
    this.#connection = connection;
    this.#topology = topology;
    this.#publisher = publisher;
    this.#options = options;
    this.#handler = handler;
    this.#prefetch = prefetch ?? options.concurrency;
  }

  async start(): Promise<void> {
    await this.#connection.retrying(() => this.#subscribe());
  }

  get #active(): boolean {
    return !this.#stopping && !this.#abandoned;
  }

  async #subscribe(): Promise<void> {
    await this.#topology.ensureQueues(this.#options.queues);
    const model = await this.#connection.model();
    const channel = await model.createChannel();
    const acks = new AckBatcher(channel);
    channel.on("error", () => {});
    channel.on("close", () => {
      acks.discard();
      // Only the established channel resubscribes; a failed attempt's is retried by its caller.
      if (this.#channel !== channel) return;
      this.#channel = undefined;
      this.#acks = undefined;
      if (this.#active) this.#resubscribe(new ConnectionError("rabbitmq", "lost the consumer channel; reconnecting."));
    });
    this.#channel = channel;
    this.#acks = acks;
    try {
      this.#tags = [];
      this.#consumingWith = 0;
      await this.#consume(channel, acks);
    } catch (error) {
      if (this.#channel === channel) {
        this.#channel = undefined;
        this.#acks = undefined;
      }
      await closeOrLose(channel);
      throw error;
    }
  }

  /** What a worker may hold: fewer while bodies deaf to their timeout keep their slots. */
  get #wantedPrefetch(): number {
    return Math.max(0, this.#prefetch - this.#overrunning);
  }

  /** One AMQP consumer per queue with the prefetch wanted now; none while it is 0. */
  async #consume(channel: Channel, acks: AckBatcher): Promise<void> {
    const prefetch = this.#wantedPrefetch;
    if (prefetch === 0) return;
    // Per consumer (global=false) works on classic and quorum queues alike. It applies to consumers
    // started after it, so a new prefetch means new consumers.
    await channel.prefetch(prefetch, false);
    const tags: string[] = [];
    for (const queue of this.#options.queues) {
      const { consumerTag } = await channel.consume(queue, (msg) => this.#onMessage(channel, acks, queue, msg), { noAck: false });
      tags.push(consumerTag);
    }
    this.#tags = tags;
    this.#consumingWith = prefetch;
  }

  /**
   * A body deaf to its timeout keeps its slot after its job settles. Resolves once the consumers
   * take that into account: a cancel goes out before the job's ack, which would let the broker
   * push the next message into that slot.
   */
  #holdSlot(freed: Promise<void>): Promise<void> {
    this.#overrunning++;
    void freed.then(() => {
      this.#overrunning--;
      this.#pump();
      void this.#refit();
    });
    return this.#refit();
  }

  /** Replace the consumers when the prefetch wanted has changed (a lost channel resubscribes by itself). */
  #refit(): Promise<void> {
    this.#refitting = this.#refitting.then(async () => {
      const channel = this.#channel;
      const acks = this.#acks;
      if (!this.#active || !channel || !acks || this.#consumingWith === this.#wantedPrefetch) return;
      try {
        await Promise.all(this.#tags.map((tag) => channel.cancel(tag)));
        this.#tags = [];
        this.#consumingWith = 0;
        if (this.#active && this.#channel === channel) await this.#consume(channel, acks);
      } catch (error) {
        // The channel is going: its close resubscribes with the prefetch wanted then.
        if (this.#active) this.#options.onError?.(error instanceof Error ? error : new Error(String(error)));
      }
    });
    return this.#refitting;
  }

  #resubscribe(reason: Error): void {
    if (this.#resubscribing) return;
    this.#resubscribing = true;
    this.#options.onError?.(reason);
    void (async () => {
      let pause = 100;
      while (this.#active) {
        try {
          await this.#subscribe();
          break;
        } catch (error) {
          if (!this.#active) break;
          this.#options.onError?.(error instanceof Error ? error : new Error(String(error)));
          await sleep(pause);
          pause = Math.min(pause * 2, 2_000);
        }
      }
      this.#resubscribing = false;
    })();
  }

  #onMessage(channel: Channel, acks: AckBatcher, queue: string, msg: ConsumeMessage | null): void {
    if (msg === null) {
      // The server cancelled the consumer (the queue was deleted): declare it again and resume.
      this.#topology.forget(queue);
      if (this.#active) void closeOrLose(channel);
      return;
    }
    acks.received(msg);
    const received = { channel, acks, queue, msg };
    if (!this.#active) {
      if (this.#abandoned) acks.requeue(msg);
      else this.#track(this.#giveBack(received));
      return;
    }
    const message = readMessage(msg);
    if (message.runAt !== undefined && message.runAt > Date.now()) {
      this.#track(this.#redelay(received, message));
      return;
    }
    if (this.#running + this.#overrunning < this.#options.concurrency) this.#start(received, message);
    else this.#waiting.push(received);
  }

  /**
   * Hand a received message back unstarted (a worker stopping). A quorum queue counts every return
   * as a delivery (`x-delivery-count`), which is how taskport counts crashes as attempts, so there
   * the message goes back as a copy that carries its attempt as it was, and the original is
   * acknowledged: a stop uses no attempt. A classic queue counts nothing: requeue it, in its place.
   */
  async #giveBack(received: Received): Promise<void> {
    if (!this.#topology.countsDeliveries) {
      received.acks.requeue(received.msg);
      return;
    }
    try {
      await this.#publisher.send([{ queue: received.queue, message: readMessage(received.msg) }]);
      received.acks.ack(received.msg);
    } catch (error) {
      this.#options.onError?.(error instanceof Error ? error : new Error(String(error)));
      received.acks.requeue(received.msg);
    }
  }

  /** Back early from a delay bucket: wait out the remainder in the next bucket, then ack. */
  async #redelay(received: Received, message: JobMessage): Promise<void> {
    try {
      await this.#publisher.send([{ queue: received.queue, message }]);
      received.acks.ack(received.msg);
    } catch (error) {
      this.#options.onError?.(error instanceof Error ? error : new Error(String(error)));
      received.acks.requeue(received.msg);
    }
  }

  #start(received: Received, message: JobMessage): void {
    this.#running++;
    this.#track(
      this.#run(received, message).finally(() => {
        this.#running--;
        this.#pump();
      }),
    );
  }

  #pump(): void {
    while (this.#active && this.#running + this.#overrunning < this.#options.concurrency && this.#waiting.length > 0) {
      const next = this.#waiting.shift() as Received;
      this.#start(next, readMessage(next.msg));
    }
  }

  #track(work: Promise<void>): void {
    this.#inFlight.add(work);
    void work.finally(() => this.#inFlight.delete(work));
  }

  async #run(received: Received, message: JobMessage): Promise<void> {
    let payload: unknown;
    try {
      payload = JSON.parse(received.msg.content.toString("utf8"));
    } catch (error) {
      // Not from taskport, or corrupted: running again cannot parse it either.
      this.#options.onError?.(
        new SerializationError(
          "rabbitmq",
          `message ${message.id || "(no messageId)"} on queue "${received.queue}" has a body that is not JSON; moved to its dead letters.`,
          "$",
        ),
      );
      await this.#settle(received, message, {
        status: "failed",
        error: { name: "SerializationError", message: `message body is not JSON: ${(error as Error).message}` },
      });
      return;
    }
    const delivery: Delivery = {
      id: message.id || `amqp-${received.msg.fields.deliveryTag}`,
      name: message.name,
      queue: received.queue,
      payload,
      attempt: message.attempt,
      maxAttempts: message.maxAttempts,
      ...(message.timeoutMs !== undefined ? { timeoutMs: message.timeoutMs } : {}),
      ...(message.headers !== undefined ? { headers: message.headers } : {}),
    };
    const settlement = await this.#handler(delivery);
    if (settlement.slotFreed) await this.#holdSlot(settlement.slotFreed);
    await this.#settle(received, message, settlement);
  }

  async #settle(received: Received, message: JobMessage, settlement: Settlement): Promise<void> {
    // A dead channel (crash, lost connection) already gave the message back to the broker, which
    // delivers it again: settling it here too would run it twice.
    if (this.#abandoned || this.#channel !== received.channel) return;
    try {
      if (settlement.status === "failed") {
        // Store the next step durably first, then ack: never ack first (at-least-once).
        if (settlement.retryInMs !== undefined) {
          const next = { ...message, attempt: message.attempt + 1, runAt: Date.now() + settlement.retryInMs };
          await this.#publisher.send([{ queue: received.queue, message: next }]);
        } else {
          const { runAt: _runAt, ...rest } = message;
          await this.#publisher.send([
            {
              queue: received.queue,
              message: rest,
              deadLetter: true,
              extraHeaders: { [HEADER.error]: JSON.stringify(settlement.error), [HEADER.failedAt]: Date.now() },
            },
          ]);
        }
      }
      received.acks.ack(received.msg);
    } catch (error) {
      this.#options.onError?.(error instanceof Error ? error : new Error(String(error)));
      received.acks.requeue(received.msg);
    }
  }

  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      // A change of consumers under way ends first, so that every consumer is cancelled below.
      await this.#refitting;
      const channel = this.#channel;
      if (channel) await Promise.allSettled(this.#tags.map((tag) => channel.cancel(tag)));
      for (const waiting of this.#waiting.splice(0)) this.#track(this.#giveBack(waiting));
      while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight]);
      // The acks of the last settled jobs go out before the channel's close.
      this.#acks?.flush();
      if (channel) await closeOrLose(channel);
      this.#channel = undefined;
      this.#acks = undefined;
    })();
    return this.#stopping;
  }

  async abandon(): Promise<void> {
    this.#abandoned = true;
    this.#waiting.length = 0;
    const channel = this.#channel;
    this.#channel = undefined;
    this.#acks?.discard();
    this.#acks = undefined;
    // Closing the channel hands every unacknowledged message back to the broker at once.
    if (channel) await closeOrLose(channel);
  }
}
