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
  /**
   * Delivery tags received and neither settled nor given back. Tags arrive in ascending order and a
   * Set iterates in insertion order, so the first is the oldest. At most the prefetch count.
   */
  readonly #unsettled = new Set<number>();
  /** Settled, to acknowledge at the next flush. */
  readonly #settled: ConsumeMessage[] = [];
  #flushing: NodeJS.Immediate | undefined;

  constructor(channel: Channel) {
    this.channel = channel;
  }

  received(msg: ConsumeMessage): void {
    this.#unsettled.add(msg.fields.deliveryTag);
  }

  /** Acknowledge at the end of this turn of the event loop. */
  ack(msg: ConsumeMessage): void {
    this.#unsettled.delete(msg.fields.deliveryTag);
    this.#settled.push(msg);
    this.#flushing ??= setImmediate(() => this.flush());
  }

  /** Give a delivery back to the queue now (`nack` with requeue). */
  requeue(msg: ConsumeMessage): void {
    this.#unsettled.delete(msg.fields.deliveryTag);
    safe(() => this.channel.nack(msg, false, true));
  }

  /** Send the acks now: before the channel closes, and at the end of each turn. */
  flush(): void {
    if (this.#flushing) clearImmediate(this.#flushing);
    this.#flushing = undefined;
    if (this.#settled.length === 0) return;
    const oldestUnsettled = this.#unsettled.values().next().value ?? Number.POSITIVE_INFINITY;
    // The newest settled delivery older than every unsettled one: `multiple` up to it covers only settled ones.
    let upTo: ConsumeMessage | undefined;
    let covered = 0;
    for (const msg of this.#settled) {
      const tag = msg.fields.deliveryTag;
      if (tag < oldestUnsettled) {
        covered++;
        if (upTo === undefined || tag > upTo.fields.deliveryTag) upTo = msg;
      } else {
        safe(() => this.channel.ack(msg));
      }
    }
    this.#settled.length = 0;
    if (upTo !== undefined) {
      const last = upTo;
      safe(() => this.channel.ack(last, covered > 1));
    }
  }

  /** The channel is gone, and with it every unacknowledged delivery: forget them. */
  discard(): void {
    if (this.#flushing) clearImmediate(this.#flushing);
    this.#flushing = undefined;
    this.#settled.length = 0;
    this.#unsettled.clear();
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
