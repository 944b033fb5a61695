import type { Consumer as JsConsumer, JsMsg } from "@nats-io/jetstream";
import { Wakeup } from "@taskport/core";
import type { NatsConnectionHolder } from "./connection.ts";
import { copyHeaders, HEADER, readFacts } from "./message-format.ts";
import { DELAYED_CONSUMER, type QueueNames } from "./names.ts";

/** Messages one pull of the mover asks for: each is nakked or handed on at once, none is kept. */
const BATCH = 256;

export interface MoverSettings {
  readonly pullExpiresMs: number;
  /** Longest nak delay of one hop; absent: the whole wait in one. */
  readonly maxHopMs: number | undefined;
}

/**
 * Hands a queue's delayed jobs to its work subject when they are due. A delayed job is published
 * to `.delayed`; the mover's pull gets it at once and nakks it with the time left, so the server
 * keeps it (pending on the `delayed` consumer) and delivers it again when due. Then a copy goes to
 * `.job`, with a message id of its own so that a mover dying between the publish and the ack
 * hands it over once, and the delayed message is acked. Retries and crashes count on the `work`
 * consumer only: the hops are not attempts.
 */
export class DelayMover {
  readonly #connection: NatsConnectionHolder;
  readonly #names: QueueNames;
  readonly #settings: MoverSettings;
  readonly #report: (error: unknown, action: string) => void;
  readonly #pending = new Set<Promise<void>>();
  #loop: Promise<void> | undefined;
  #fetch: { stop(): void } | undefined;
  readonly #wakeup = new Wakeup();
  #stopping = false;
  #abandoned = false;

  constructor(
    connection: NatsConnectionHolder,
    names: QueueNames,
    settings: MoverSettings,
    report: (error: unknown, action: string) => void,
  ) {
    this.#connection = connection;
    this.#names = names;
    this.#settings = settings;
    this.#report = report;
  }

  start(): void {
    this.#loop = this.#run();
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    this.#wakeup.notify();
    await this.#loop;
    await Promise.allSettled([...this.#pending]);
  }

  abandon(): void {
    this.#abandoned = true;
    this.#stopping = true;
    this.#fetch?.stop();
    this.#wakeup.notify();
  }

  /** After a reconnect: give up the pull in flight and send a new one (see NatsWorker's #pullAnew). */
  pullAnew(): void {
    this.#fetch?.stop();
    this.#wakeup.notify();
  }

  async #run(): Promise<void> {
    let failures = 0;
    let consumer: JsConsumer | undefined;
    while (!this.#stopping) {
      // Nothing is pulled while disconnected: the reconnect's pullAnew wakes the loop.
      if (!this.#connection.connected) {
        await this.#wakeup.wait();
        continue;
      }
      try {
        const { js } = await this.#connection.handles();
        consumer ??= await js.consumers.get(this.#names.stream, DELAYED_CONSUMER);
        const messages = await consumer.fetch({ max_messages: BATCH, expires: this.#settings.pullExpiresMs });
        this.#fetch = messages;
        for await (const msg of messages) this.#handle(msg);
        failures = 0;
      } catch (error) {
        if (this.#stopping) break;
        // Looked up again only if deleted: a lookup sent as the server went down waited out operationMs.
        if (/not found/i.test(String(error))) consumer = undefined;
        this.#report(error, `pulling the delayed jobs of stream "${this.#names.stream}"`);
        failures++;
        await this.#wakeup.wait(Math.min(5_000, 100 * 2 ** failures));
      }
    }
  }

  #handle(msg: JsMsg): void {
    if (this.#abandoned) return;
    if (this.#stopping) {
      msg.nak();
      return;
    }
    const facts = readFacts(msg.headers, String(msg.seq));
    const left = (facts.runAt ?? 0) - Date.now();
    if (left > 0) {
      msg.nak(Math.min(left, this.#settings.maxHopMs ?? left));
      return;
    }
    const handing = this.#handOver(msg, facts.id).finally(() => this.#pending.delete(handing));
    this.#pending.add(handing);
  }

  async #handOver(msg: JsMsg, id: string): Promise<void> {
    try {
      const { js } = await this.#connection.handles();
      await js.publish(this.#names.jobSubject, msg.data, {
        headers: copyHeaders(msg.headers, [HEADER.runAt]),
        msgID: `${id}:due:${msg.seq}`,
      });
      msg.ack();
    } catch (error) {
      // Not handed over: it comes back after the consumer's ack wait and is tried again.
      if (!this.#abandoned) this.#report(error, `handing a due job to stream "${this.#names.stream}"`);
    }
  }
}
