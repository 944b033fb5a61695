import type { Channel, ConsumeMessage } from "amqplib";

/**
 * Acknowledges one channel's deliveries in as few frames as is safe. A `basic.ack` with `multiple`
 * covers every unacknowledged delivery up to its tag on the channel, so one is sent only for a run
 * of deliveries that are all settled; a settled delivery behind one still running or waiting is
 * acknowledged on its own. Acks wait for the end of the current turn of the event loop, no longer:
 * an unacknowledged message holds a prefetch slot. A delivery is only ever acknowledged after its
 * outcome is durable, so a crash before the flush means a redelivery, as at-least-once allows.
 */
export class AckBatcher {
  readonly channel: Channel;
  /** Delivery tags received and not yet passed by a flush, in delivery (ascending) order. */
  readonly #received: number[] = [];
  #head = 0;
  /** Settled, to acknowledge at the next flush. */
  readonly #settled = new Map<number, ConsumeMessage>();
  /** Acknowledged alone or given back already: a later `multiple` ack passes over them. */
  readonly #done = new Set<number>();
  #flushing: NodeJS.Immediate | undefined;

  constructor(channel: Channel) {
    this.channel = channel;
  }

  received(msg: ConsumeMessage): void {
    this.#received.push(msg.fields.deliveryTag);
  }

  /** Acknowledge at the end of this turn of the event loop. */
  ack(msg: ConsumeMessage): void {
    this.#settled.set(msg.fields.deliveryTag, msg);
    this.#flushing ??= setImmediate(() => this.flush());
  }

  /** Give a delivery back to the queue now (`nack` with requeue). */
  requeue(msg: ConsumeMessage): void {
    this.#done.add(msg.fields.deliveryTag);
    safe(() => this.channel.nack(msg, false, true));
  }

  /** Send the acks now: before the channel closes, and at the end of each turn. */
  flush(): void {
    if (this.#flushing) clearImmediate(this.#flushing);
    this.#flushing = undefined;
    if (this.#settled.size === 0) return;
    const received = this.#received;
    let last: ConsumeMessage | undefined;
    let covered = 0;
    while (this.#head < received.length) {
      const tag = received[this.#head] as number;
      const settled = this.#settled.get(tag);
      if (settled !== undefined) {
        this.#settled.delete(tag);
        last = settled;
        covered++;
      } else if (!this.#done.delete(tag)) {
        break; // still running or waiting: nothing after it may be acknowledged with `multiple`
      }
      this.#head++;
    }
    if (last !== undefined) {
      const upTo = last;
      safe(() => this.channel.ack(upTo, covered > 1));
    }
    for (const [tag, msg] of this.#settled) {
      this.#done.add(tag);
      safe(() => this.channel.ack(msg));
    }
    this.#settled.clear();
    if (this.#head > 1024 && this.#head * 2 > received.length) {
      received.splice(0, this.#head);
      this.#head = 0;
    }
  }

  /** The channel is gone, and with it every unacknowledged delivery: forget them. */
  discard(): void {
    if (this.#flushing) clearImmediate(this.#flushing);
    this.#flushing = undefined;
    this.#settled.clear();
  }
}

/** The channel may be closed already; the broker then has the message back. */
function safe(action: () => void): void {
  try {
    action();
  } catch {
    // The channel is gone; the broker has the message back already.
  }
}
