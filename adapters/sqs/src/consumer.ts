import {
  ChangeMessageVisibilityBatchCommand,
  ChangeMessageVisibilityCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageCommand,
  type SQSClient,
} from "@aws-sdk/client-sqs";
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
import type { AckBatcher } from "./ack-batcher.ts";
import { deadLetterAttributes, deadLetterGroupId } from "./dead-letters.ts";
import { LeaseKeeper } from "./lease-keeper.ts";
import { type MessageFacts, messageBytes, parseBody, readFacts, resendAttributes } from "./message-format.ts";
import type { QueueRegistry } from "./queue-registry.ts";
import type { Sender } from "./sender.ts";
import { explainSqsError, isQueueMissing } from "./sqs-errors.ts";
import { MAX_VISIBILITY_SECONDS, VISIBILITY_MARGIN_SECONDS } from "./sqs-limits.ts";

/** Longest pause between failed polls. */
const MAX_POLL_BACKOFF_MS = 5_000;

export interface ConsumerSettings {
  readonly visibilityTimeout: number;
  /** Extend the visibility of held messages while they run. */
  readonly heartbeat: boolean;
  readonly waitTimeSeconds: number;
  /** Concurrent ReceiveMessage loops per queue; undefined picks from the concurrency. */
  readonly pollers: number | undefined;
  readonly fifo: boolean;
  readonly deadLetter: boolean;
  /** Longest single `DelaySeconds`, in seconds (900 on SQS; lowered by tests). */
  readonly hopSeconds: number;
  readonly maxMessageBytes: number;
  /** Where SQS is, for messages. */
  readonly where: string;
}

export interface ConsumerParts {
  readonly client: () => SQSClient;
  readonly queues: QueueRegistry;
  readonly sender: Sender;
  readonly acks: AckBatcher;
}

/** A received message waiting for a free slot, or running. */
interface Held {
  readonly queue: string;
  readonly url: string;
  readonly message: Message;
  readonly receivedAt: number;
  readonly lost: AbortController;
}

/**
 * Consumes SQS queues: several long-polling ReceiveMessage loops per queue, each asking for at
 * most as many messages as there are free slots (up to 10); a heartbeat extends what is held;
 * settled messages are deleted in batches, retried with ChangeMessageVisibility, or dead-lettered.
 */
export class SqsConsumer implements Consumer {
  readonly #parts: ConsumerParts;
  readonly #settings: ConsumerSettings;
  readonly #options: ConsumeOptions;
  readonly #handler: DeliveryHandler;
  readonly #lease: LeaseKeeper;
  readonly #buffer: Held[] = [];
  /** Messages asked for by polls in flight, per queue: pollers of one queue do not over-fetch. */
  readonly #asked = new Map<string, number>();
  readonly #polls = new Set<AbortController>();
  readonly #running = new Set<Promise<void>>();
  readonly #loops: Promise<void>[] = [];
  #active = 0;
  /** Handler bodies running on past their job's settlement: each still holds its slot. */
  #overrunning = 0;
  readonly #wakeup = new Wakeup();
  #stopping = false;
  #abandoned = false;
  #stopped: Promise<void> | undefined;

  constructor(parts: ConsumerParts, settings: ConsumerSettings, options: ConsumeOptions, handler: DeliveryHandler) {
    this.#parts = parts;
    this.#settings = settings;
    this.#options = options;
    this.#handler = handler;
    this.#lease = new LeaseKeeper(parts.client, settings.visibilityTimeout, settings.heartbeat, (error) =>
      this.#report(error, "extending visibility"),
    );
  }

  /** Resolve every queue's URL (creating queues when allowed), then start polling. */
  async start(): Promise<void> {
    await Promise.all(this.#options.queues.map((queue) => this.#parts.queues.url(queue)));
    const pollers = this.#settings.pollers ?? Math.min(10, Math.max(1, Math.ceil(this.#options.concurrency / 10)));
    for (const queue of this.#options.queues) {
      for (let i = 0; i < pollers; i++) this.#loops.push(this.#poll(queue));
    }
  }

  stop(): Promise<void> {
    this.#stopped ??= this.#stop();
    return this.#stopped;
  }

  async abandon(): Promise<void> {
    // As a crashed process: nothing is settled, released or extended; SQS redelivers when visibility runs out.
    this.#abandoned = true;
    this.#stopping = true;
    for (const poll of this.#polls) poll.abort();
    this.#wakeup.notify();
    this.#lease.stop();
    this.#buffer.length = 0;
  }

  async #stop(): Promise<void> {
    this.#stopping = true;
    this.#wakeup.notify();
    // Long polls in flight are let finish, not aborted: SQS hides what a poll takes even when its
    // connection is gone, so a message taken by an aborted poll would wait out its visibility
    // timeout. A poll returns at once when a message arrives, otherwise after waitTimeSeconds, so an
    // idle worker's graceful stop takes up to that long; past the grace period, abandon() aborts.
    await Promise.allSettled(this.#loops);
    await this.#releaseBuffered();
    while (this.#running.size > 0) await Promise.allSettled([...this.#running]);
    this.#lease.stop();
  }

  #free(queue: string): number {
    return this.#options.concurrency - this.#active - this.#overrunning - this.#buffer.length - (this.#asked.get(queue) ?? 0);
  }

  async #poll(queue: string): Promise<void> {
    let failures = 0;
    while (!this.#stopping) {
      const want = Math.min(10, this.#free(queue));
      if (want <= 0) {
        await this.#wakeup.wait();
        continue;
      }
      const controller = new AbortController();
      this.#polls.add(controller);
      this.#asked.set(queue, (this.#asked.get(queue) ?? 0) + want);
      try {
        const url = await this.#parts.queues.url(queue);
        const out = await this.#parts.client().send(
          new ReceiveMessageCommand({
            QueueUrl: url,
            MaxNumberOfMessages: want,
            WaitTimeSeconds: this.#settings.waitTimeSeconds,
            VisibilityTimeout: this.#settings.visibilityTimeout,
            MessageAttributeNames: ["All"],
            MessageSystemAttributeNames: ["ApproximateReceiveCount"],
          }),
          { abortSignal: controller.signal },
        );
        failures = 0;
        const receivedAt = Date.now();
        for (const message of out.Messages ?? []) this.#take({ queue, url, message, receivedAt, lost: new AbortController() });
      } catch (error) {
        if (this.#stopping) break;
        if (isQueueMissing(error)) this.#parts.queues.forget(queue);
        this.#report(error, `receiving from queue "${queue}"`);
        failures++;
        await this.#wakeup.wait(Math.min(MAX_POLL_BACKOFF_MS, 100 * 2 ** failures));
      } finally {
        this.#polls.delete(controller);
        this.#asked.set(queue, (this.#asked.get(queue) ?? want) - want);
      }
      this.#dispatch();
      this.#wakeup.notify();
    }
  }

  #take(held: Held): void {
    const handle = held.message.ReceiptHandle ?? "";
    if (this.#abandoned) return;
    this.#lease.hold({ url: held.url, receiptHandle: handle, onLost: () => held.lost.abort(new Error("the message's lease was lost")) });
    this.#buffer.push(held);
  }

  #dispatch(): void {
    while (!this.#stopping && this.#active + this.#overrunning < this.#options.concurrency && this.#buffer.length > 0) {
      const held = this.#buffer.shift() as Held;
      this.#active++;
      const run = this.#run(held).finally(() => {
        this.#active--;
        this.#running.delete(run);
        this.#dispatch();
        this.#wakeup.notifySoon();
      });
      this.#running.add(run);
    }
  }

  /** Messages received but not started go back at once (visibility 0), for any worker to take. */
  async #releaseBuffered(): Promise<void> {
    const held = this.#buffer.splice(0);
    for (const h of held) void this.#lease.release(h.message.ReceiptHandle ?? "");
    const byUrl = new Map<string, Held[]>();
    for (const h of held) byUrl.set(h.url, [...(byUrl.get(h.url) ?? []), h]);
    await Promise.all(
      [...byUrl].flatMap(([url, list]) =>
        chunks(list, 10).map((chunk) =>
          this.#parts
            .client()
            .send(
              new ChangeMessageVisibilityBatchCommand({
                QueueUrl: url,
                Entries: chunk.map((h, i) => ({ Id: String(i), ReceiptHandle: h.message.ReceiptHandle, VisibilityTimeout: 0 })),
              }),
            )
            .catch((error: unknown) => this.#report(error, "returning unstarted messages")),
        ),
      ),
    );
  }

  async #run(held: Held): Promise<void> {
    const { message } = held;
    const handle = message.ReceiptHandle ?? "";
    const facts = readFacts(message.MessageAttributes, message.MessageId ?? "");
    try {
      if (this.#settings.fifo && facts.runAt !== undefined) {
        // A FIFO delay's timer, never run itself: hidden again until due, then the job joins its group.
        await this.#lease.release(handle);
        await this.#timer(held, facts, facts.runAt);
        return;
      }
      if (facts.runAt !== undefined && facts.runAt > Date.now()) {
        // A delay longer than one hop: send it on for another hop; not an attempt.
        await this.#lease.release(handle);
        await this.#resend(held, facts, facts.attemptsBefore, facts.runAt);
        return;
      }
      const receives = Number(message.Attributes?.ApproximateReceiveCount ?? 1);
      // SQS counts receives, not runs: one a dead or stopping worker's long poll got (the worker
      // never saw it) counts too. So a receive past the last attempt is not proof that every
      // attempt ran, and the job runs again, as its last attempt, rather than fail unrun.
      const received = facts.attemptsBefore + (Number.isFinite(receives) && receives > 0 ? receives : 1);
      const attempt = Math.min(received, facts.maxAttempts);
      const delivery: Delivery = {
        id: facts.id,
        name: facts.name,
        queue: held.queue,
        payload: parseBody(message.Body),
        attempt,
        maxAttempts: facts.maxAttempts,
        ...(facts.timeoutMs !== undefined ? { timeoutMs: facts.timeoutMs } : {}),
        ...(facts.headers !== undefined ? { headers: facts.headers } : {}),
        signal: held.lost.signal,
      };
      const settlement = await this.#handler(delivery);
      if (settlement.slotFreed) this.#holdSlot(settlement.slotFreed);
      if (this.#abandoned || held.lost.signal.aborted) return;
      await this.#lease.release(handle);
      await this.#settle(held, facts, attempt, settlement);
    } catch (error) {
      void this.#lease.release(handle);
      if (!this.#abandoned) this.#report(error, `settling job ${facts.id}; it will be delivered again`);
    }
  }

  /** A body deaf to its timeout keeps its slot after its job settles: no message is received for it until it ends. */
  #holdSlot(freed: Promise<void>): void {
    this.#overrunning++;
    void freed.then(() => {
      this.#overrunning--;
      this.#dispatch();
      this.#wakeup.notify();
    });
  }

  async #settle(held: Held, facts: MessageFacts, attempt: number, settlement: Settlement): Promise<void> {
    const handle = held.message.ReceiptHandle ?? "";
    if (settlement.status === "succeeded") {
      await this.#parts.acks.delete(held.url, handle);
      return;
    }
    if (settlement.retryInMs !== undefined) {
      const seconds = Math.ceil(settlement.retryInMs / 1000);
      const heldFor = Math.ceil((Date.now() - held.receivedAt) / 1000);
      const room = MAX_VISIBILITY_SECONDS - heldFor - VISIBILITY_MARGIN_SECONDS;
      if (seconds <= room || this.#settings.fifo) {
        // The backoff is the message's visibility: the next receive is the next attempt. A FIFO
        // message cannot be re-sent without losing its place, so its backoff is capped at 12 hours.
        await this.#parts.client().send(
          new ChangeMessageVisibilityCommand({
            QueueUrl: held.url,
            ReceiptHandle: handle,
            VisibilityTimeout: Math.min(seconds, Math.max(0, room)),
          }),
        );
        return;
      }
      // Longer than a message may stay invisible: send a copy due then, carrying the attempts used.
      await this.#resend(held, facts, attempt, Date.now() + settlement.retryInMs);
      return;
    }
    if (this.#settings.deadLetter) await this.#deadLetter(held, facts, attempt, settlement.error);
    await this.#parts.acks.delete(held.url, handle);
  }

  /**
   * A FIFO delay: before its time the timer message is hidden again for what is left (in hops);
   * once due, a copy without the timer joins the job's message group (its receives start at 1,
   * so the holds are not attempts) and the timer is deleted. The copy's deduplication id makes a
   * repeated hand-over (a crash between send and delete) harmless.
   */
  async #timer(held: Held, facts: MessageFacts, runAt: number): Promise<void> {
    const handle = held.message.ReceiptHandle ?? "";
    const left = runAt - Date.now();
    if (left > 0) {
      const heldFor = Math.ceil((Date.now() - held.receivedAt) / 1000);
      const seconds = Math.min(
        this.#settings.hopSeconds,
        Math.ceil(left / 1000),
        MAX_VISIBILITY_SECONDS - heldFor - VISIBILITY_MARGIN_SECONDS,
      );
      await this.#parts
        .client()
        .send(new ChangeMessageVisibilityCommand({ QueueUrl: held.url, ReceiptHandle: handle, VisibilityTimeout: seconds }));
      return;
    }
    const body = held.message.Body ?? "null";
    const attributes = resendAttributes(held.message.MessageAttributes, facts.attemptsBefore, undefined);
    await this.#parts.sender.send(
      [{ queue: held.queue, id: facts.id, body, attributes, groupId: facts.group ?? held.queue, deduplicationId: `${facts.id}-due` }],
      [messageBytes(body, attributes)],
    );
    await this.#parts.acks.delete(held.url, handle);
  }

  async #resend(held: Held, facts: MessageFacts, attemptsBefore: number, runAt: number): Promise<void> {
    const body = held.message.Body ?? "null";
    const attributes = resendAttributes(held.message.MessageAttributes, attemptsBefore, runAt);
    const delaySeconds = Math.min(this.#settings.hopSeconds, Math.max(0, Math.ceil((runAt - Date.now()) / 1000)));
    await this.#parts.sender.send(
      [{ queue: held.queue, id: facts.id, body, attributes, ...(delaySeconds > 0 ? { delaySeconds } : {}) }],
      [messageBytes(body, attributes)],
    );
    await this.#parts.acks.delete(held.url, held.message.ReceiptHandle ?? "");
  }

  async #deadLetter(held: Held, facts: MessageFacts, attempt: number, error: SerializedError): Promise<void> {
    const body = held.message.Body ?? "null";
    const url = await this.#parts.queues.deadLetterUrl(held.queue);
    await this.#parts.client().send(
      new SendMessageCommand({
        QueueUrl: url,
        MessageBody: body,
        MessageAttributes: deadLetterAttributes(held.message.MessageAttributes, body, error, attempt, this.#settings.maxMessageBytes),
        // A group per letter: a FIFO queue hands out no message of a group while another of it is in
        // flight, so letters sharing one group could be peeked (listDeadLetters) only one at a time.
        ...(this.#settings.fifo
          ? { MessageGroupId: deadLetterGroupId(facts.id), MessageDeduplicationId: `${facts.id}-dead-${attempt}` }
          : {}),
      }),
    );
  }

  #report(error: unknown, action: string): void {
    if (this.#abandoned) return;
    const explained = explainSqsError(error, this.#settings.where, action);
    if (this.#options.onError) this.#options.onError(explained);
    else logger().error({ error: explained }, explained.message);
  }
}

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
