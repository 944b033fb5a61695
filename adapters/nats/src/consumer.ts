import type { Consumer as JsConsumer, JsMsg } from "@nats-io/jetstream";
import {
  type ConsumeOptions,
  type Consumer,
  type Delivery,
  type DeliveryHandler,
  logger,
  type SerializedError,
  type Settlement,
  Wakeup,
} from "@taskport/core";
import type { NatsConnectionHolder } from "./connection.ts";
import { DelayMover } from "./delay-mover.ts";
import { deadLetterMaxDelivered } from "./max-deliveries.ts";
import { deadLetterHeaders, HEADER, parseData, readFacts, retryHeaders } from "./message-format.ts";
import { type QueueNames, WORK_CONSUMER } from "./names.ts";
import { explainNatsError } from "./nats-errors.ts";
import type { Topology } from "./topology.ts";

/** Longest pause between failed pulls. */
const MAX_PULL_BACKOFF_MS = 5_000;
/** Most messages one pull asks for. */
const MAX_BATCH = 256;

/** What a settlement needs of the job it settles. */
interface DeliveredJob {
  readonly id: string;
  /** Deliveries of the job so far, this one included. */
  readonly deliveries: number;
  readonly attempt: number;
}

export interface WorkerSettings {
  readonly ackWaitMs: number;
  /** How long one pull request waits on the server for messages. */
  readonly pullExpiresMs: number;
  /** Pull loops per queue. */
  readonly pullers: number;
  /**
   * Jobs a worker pulls beyond its free slots, so that the next ones are at hand when a slot frees
   * rather than one pull's round trip later. Buffered jobs are kept with `working()` like running
   * ones, and handed back (nakked) at once when the worker stops or a slot stays held by a handler
   * deaf to its timeout.
   */
  readonly readAhead: number;
  /** Longest nak delay of a delayed job's hop. */
  readonly maxHopMs: number | undefined;
  /** Deliveries of one job in all, past which it goes to the dead letters unrun (see max-deliveries.ts). */
  readonly maxDeliver: number | undefined;
}

/**
 * Consumes a set of queues: pull loops on each queue's `work` consumer ask for at most as many
 * messages as there are free slots, so nothing waits in the worker unstarted; running jobs are
 * kept with `working()` every third of the ack wait; a settled job is acked, copied to `.delayed`
 * with its backoff and acked (a retry), or copied to the dead letters and acked. A delay mover per
 * queue hands due jobs from `.delayed` to `.job`.
 */
export class NatsWorker implements Consumer {
  readonly #connection: NatsConnectionHolder;
  readonly #topology: Topology;
  readonly #settings: WorkerSettings;
  readonly #options: ConsumeOptions;
  readonly #handler: DeliveryHandler;
  readonly #running = new Set<Promise<void>>();
  readonly #held = new Set<JsMsg>();
  /** Jobs pulled ahead of a free slot, oldest first (see WorkerSettings.readAhead). */
  readonly #buffer: { readonly queue: string; readonly msg: JsMsg }[] = [];
  readonly #loops: Promise<void>[] = [];
  readonly #movers: DelayMover[] = [];
  readonly #fetches = new Set<{ stop(): void }>();
  /** Acks of this turn of the event loop, sent together (see #ack). */
  #acks: JsMsg[] = [];
  #asked = 0;
  #active = 0;
  /** Handler bodies running on past their job's settlement: each still holds its slot. */
  #overrunning = 0;
  readonly #wakeup = new Wakeup();
  #heartbeat: NodeJS.Timeout | undefined;
  #stopListening: () => void = () => {};
  #stopping = false;
  #abandoned = false;
  #stopped: Promise<void> | undefined;

  constructor(
    connection: NatsConnectionHolder,
    topology: Topology,
    settings: WorkerSettings,
    options: ConsumeOptions,
    handler: DeliveryHandler,
  ) {
    this.#connection = connection;
    this.#topology = topology;
    this.#settings = settings;
    this.#options = options;
    this.#handler = handler;
  }

  /** Declare every queue's streams and consumers, then start pulling. */
  async start(): Promise<void> {
    const { jsm } = await this.#connection.handles();
    const queues = await Promise.all(this.#options.queues.map((queue) => this.#topology.consumers(jsm, queue)));
    for (let i = 0; i < queues.length; i++) {
      const names = queues[i] as QueueNames;
      const queue: string = this.#options.queues[i] as string;
      for (let p = 0; p < this.#settings.pullers; p++) this.#loops.push(this.#pull(queue, names));
      const mover = new DelayMover(this.#connection, names, this.#settings, (error, action) => this.#report(error, action));
      mover.start();
      this.#movers.push(mover);
    }
    this.#heartbeat = setInterval(() => this.#extend(), Math.max(100, Math.floor(this.#settings.ackWaitMs / 3)));
    this.#heartbeat.unref();
    this.#stopListening = this.#connection.onReconnect(() => this.#pullAnew());
  }

  /**
   * After a reconnect the pulls in flight are given up and sent anew: a restarted server has
   * forgotten the pulls it was sent, and the client's own recovery of a pull first asks the server
   * about its consumer, a request a restart may swallow; a worker sat idle for up to operationMs
   * (30 s) after a restart. No pull is sent while disconnected (see #pull), so the server holds
   * none of those given up, unless the connection dropped without a restart and an unexpired pull
   * of the old connection meets the new one's subscription: a job delivered to it in that instant
   * comes back after its ack wait, neither lost nor run twice.
   */
  #pullAnew(): void {
    for (const fetch of this.#fetches) fetch.stop();
    for (const mover of this.#movers) mover.pullAnew();
    this.#wakeup.notify();
  }

  stop(): Promise<void> {
    this.#stopped ??= this.#stop();
    return this.#stopped;
  }

  async abandon(): Promise<void> {
    // As a crashed process: nothing is settled, handed back or extended; JetStream delivers the
    // held jobs again once their ack wait has passed.
    this.#abandoned = true;
    this.#stopping = true;
    this.#stopListening();
    clearInterval(this.#heartbeat);
    this.#buffer.length = 0;
    this.#acks = [];
    for (const fetch of this.#fetches) fetch.stop();
    for (const mover of this.#movers) mover.abandon();
    this.#wakeup.notify();
  }

  async #stop(): Promise<void> {
    this.#stopping = true;
    this.#wakeup.notify();
    this.#handBack();
    // Pulls in flight are let expire rather than stopped: the server would still deliver to a
    // pull the client forgot, and those messages would wait out their ack wait. What arrives
    // meanwhile is handed back at once (see #take).
    await Promise.allSettled(this.#loops);
    await Promise.allSettled(this.#movers.map((mover) => mover.stop()));
    while (this.#running.size > 0) await Promise.allSettled([...this.#running]);
    this.#stopListening();
    clearInterval(this.#heartbeat);
    this.#sendAcks();
    // Acks and naks are fire-and-forget: a round trip makes sure the server has them all.
    const handles = await this.#connection.current();
    if (handles && !handles.nc.isClosed() && !this.#abandoned) await handles.nc.flush().catch(() => {});
  }

  #free(): number {
    // No read-ahead while a slot is held past its job: what is pulled must be able to start soon.
    const ahead = this.#overrunning > 0 ? 0 : this.#settings.readAhead;
    return this.#options.concurrency + ahead - this.#active - this.#overrunning - this.#asked - this.#buffer.length;
  }

  async #pull(queue: string, names: QueueNames): Promise<void> {
    let failures = 0;
    let consumer: JsConsumer | undefined;
    while (!this.#stopping) {
      const want = Math.min(MAX_BATCH, this.#free());
      // A pull sent while disconnected would reach the server at the reconnect, just as #pullAnew
      // gives it up: the reconnect wakes this loop.
      if (want <= 0 || !this.#connection.connected) {
        await this.#wakeup.wait();
        continue;
      }
      this.#asked += want;
      let got = 0;
      try {
        const { js } = await this.#connection.handles();
        consumer ??= await js.consumers.get(names.stream, WORK_CONSUMER);
        const messages = await consumer.fetch({ max_messages: want, expires: this.#settings.pullExpiresMs });
        this.#fetches.add(messages);
        try {
          for await (const msg of messages) {
            got++;
            this.#asked--;
            this.#take(queue, msg);
          }
        } finally {
          this.#fetches.delete(messages);
        }
        failures = 0;
      } catch (error) {
        if (this.#stopping) break;
        // A consumer deleted meanwhile is looked up (and declared, below) again. After any other
        // failure, a server shutting down say, the same one is pulled from: a lookup is a request,
        // and one sent as the server went down waited out operationMs unanswered.
        if (/not found/i.test(String(error))) {
          consumer = undefined;
          this.#topology.forget(queue);
        }
        this.#report(error, `pulling jobs from queue "${queue}"`);
        failures++;
        await this.#wakeup.wait(Math.min(MAX_PULL_BACKOFF_MS, 100 * 2 ** failures));
        // A stream or consumer deleted meanwhile is declared again.
        await this.#connection
          .handles()
          .then(({ jsm }) => this.#topology.consumers(jsm, queue))
          .catch(() => {});
      } finally {
        this.#asked -= want - got;
      }
    }
  }

  #take(queue: string, msg: JsMsg): void {
    if (this.#abandoned) return;
    if (this.#stopping || (this.#overrunning > 0 && this.#active + this.#overrunning >= this.#options.concurrency)) {
      // Taken by a pull that outlived the stop, or for a slot a deaf handler still holds: back to
      // the queue at once, for another worker.
      msg.nak();
      return;
    }
    this.#held.add(msg);
    this.#buffer.push({ queue, msg });
    this.#dispatch();
  }

  /** Nak every buffered job: they go back to the queue for any worker. */
  #handBack(): void {
    for (const { msg } of this.#buffer.splice(0)) {
      this.#held.delete(msg);
      msg.nak();
    }
  }

  #dispatch(): void {
    while (!this.#stopping && this.#active + this.#overrunning < this.#options.concurrency && this.#buffer.length > 0) {
      const { queue, msg } = this.#buffer.shift() as { queue: string; msg: JsMsg };
      this.#active++;
      const run = this.#run(queue, msg).finally(() => {
        this.#active--;
        this.#held.delete(msg);
        this.#running.delete(run);
        this.#dispatch();
        this.#wakeup.notifySoon();
      });
      this.#running.add(run);
    }
  }

  async #run(queue: string, msg: JsMsg): Promise<void> {
    const facts = readFacts(msg.headers, `${queue}:${msg.seq}`);
    // JetStream counts every delivery of a message: a redelivery after a lost worker, and a
    // hand-back from a stopping worker too, so the count is not one attempt per run: never past
    // maxAttempts (see crashCountsAsAttempt in the README). A retry is a new message that carries
    // the deliveries before it.
    const deliveries = facts.deliveriesBefore + Math.max(1, msg.info.deliveryCount);
    const { maxDeliver } = this.#settings;
    if (maxDeliver !== undefined && deliveries > maxDeliver) {
      try {
        const { js } = await this.#connection.handles();
        await deadLetterMaxDelivered(js, this.#topology.names(queue), msg, maxDeliver);
      } catch (error) {
        if (!this.#abandoned) this.#report(error, `moving job ${facts.id} past maxDeliver to the dead letters; it will be delivered again`);
      }
      return;
    }
    const attempt = Math.min(deliveries, facts.maxAttempts);
    const delivery: Delivery = {
      id: facts.id,
      name: facts.name,
      queue,
      payload: parseData(msg.data),
      attempt,
      maxAttempts: facts.maxAttempts,
      ...(facts.timeoutMs !== undefined ? { timeoutMs: facts.timeoutMs } : {}),
      ...(facts.headers !== undefined ? { headers: facts.headers } : {}),
    };
    try {
      const settlement = await this.#handler(delivery);
      if (settlement.slotFreed) this.#holdSlot(settlement.slotFreed);
      if (this.#abandoned) return;
      await this.#settle(queue, msg, { id: facts.id, deliveries, attempt }, settlement);
    } catch (error) {
      if (!this.#abandoned) this.#report(error, `settling job ${facts.id}; it will be delivered again`);
    }
  }

  /** A body deaf to its timeout keeps its slot after its job settles: nothing is pulled for it until it ends. */
  #holdSlot(freed: Promise<void>): void {
    this.#overrunning++;
    if (this.#active + this.#overrunning >= this.#options.concurrency) this.#handBack();
    void freed.then(() => {
      this.#overrunning--;
      this.#dispatch();
      this.#wakeup.notifySoon();
    });
  }

  async #settle(queue: string, msg: JsMsg, job: DeliveredJob, settlement: Settlement): Promise<void> {
    if (settlement.status === "succeeded") {
      this.#ack(msg);
      return;
    }
    if (settlement.retryInMs !== undefined && settlement.retryInMs <= 0) {
      msg.nak();
      return;
    }
    if (settlement.retryInMs !== undefined) {
      await this.#retryLater(queue, msg, job, settlement.retryInMs);
      return;
    }
    await this.#deadLetter(queue, msg, job.attempt, settlement.error);
    this.#ack(msg);
  }

  /**
   * A retry after a backoff is a new message on `.delayed`, its not-before time in its headers, and
   * the delay mover holds it until then, as it does a delayed job. A nak's delay is the server's
   * alone: after a restart the job could come back before its backoff (nats-server 2.9 keeps the
   * deadline in whole seconds). The copy is confirmed before the job is acked; its message id is
   * the job's sequence, so a worker dying in between leaves one retry, not two.
   */
  async #retryLater(queue: string, msg: JsMsg, job: DeliveredJob, backoffMs: number): Promise<void> {
    const { js } = await this.#connection.handles();
    const names = this.#topology.names(queue);
    await js.publish(names.delayedSubject, msg.data, {
      headers: retryHeaders(msg.headers, Date.now() + backoffMs, job.deliveries),
      msgID: `${job.id}:retry:${msg.seq}`,
    });
    this.#ack(msg);
  }

  /** A copy in the dead-letter stream, confirmed before the job is acked: never lost, at worst twice. */
  async #deadLetter(queue: string, msg: JsMsg, attempt: number, error: SerializedError): Promise<void> {
    const { js } = await this.#connection.handles();
    const names = this.#topology.names(queue);
    await js.publish(names.deadSubject, msg.data, {
      headers: deadLetterHeaders(msg.headers, { ...error, ...(error.stack ? { stack: error.stack.slice(0, 2_000) } : {}) }, attempt),
      msgID: `${msg.seq}:dead:${msg.info.deliveryCount}`,
    });
  }

  /**
   * An ack is fire-and-forget either way; sent at once, each costs a socket write of its own (the
   * client flushes after every publish that finds its buffer empty), and those writes were most of
   * the worker's CPU time. Held until the end of this turn of the event loop, the acks of the jobs
   * that settled in it leave in one write. A worker that dies meanwhile loses them as it would
   * lose acks not yet written: the jobs come back after their ack wait.
   */
  #ack(msg: JsMsg): void {
    if (this.#acks.push(msg) === 1) setImmediate(() => this.#sendAcks());
  }

  #sendAcks(): void {
    const acks = this.#acks;
    this.#acks = [];
    if (this.#abandoned) return;
    for (const msg of acks) {
      try {
        msg.ack();
      } catch (error) {
        // A connection closed or replaced since the job settled: the job comes back after its ack wait.
        this.#report(error, `acknowledging job ${msg.headers?.get(HEADER.id) ?? msg.seq}; it will be delivered again`);
      }
    }
  }

  /** `working()` on every running job: its ack wait starts over. */
  #extend(): void {
    for (const msg of this.#held) msg.working();
  }

  #report(error: unknown, action: string): void {
    if (this.#abandoned) return;
    // A pull that missed its heartbeats: the server may be there and the socket silent (a black
    // hole), which pings take two intervals to notice. A new connection costs little.
    if (/heartbeat/i.test(String(error))) this.#connection.replace();
    const explained = explainNatsError(error, this.#connection.settings.where, action);
    if (this.#options.onError) this.#options.onError(explained);
    else logger().error({ error: explained }, explained.message);
  }
}
