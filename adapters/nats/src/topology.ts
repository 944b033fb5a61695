import {
  AckPolicy,
  type ConsumerConfig,
  DeliverPolicy,
  type JetStreamManager,
  RetentionPolicy,
  StorageType,
  type StreamConfig,
} from "@nats-io/jetstream";
import { nanos } from "@nats-io/transport-node";
import { DELAYED_CONSUMER, type QueueNames, queueNames, WORK_CONSUMER } from "./names.ts";

export interface TopologySettings {
  readonly prefix: string;
  readonly ackWaitMs: number;
  /** Deliveries of one job in all, -1 for no limit: kept by the workers (max-deliveries.ts), not by the consumer. */
  readonly maxDeliver: number;
  readonly duplicateWindowMs: number;
  readonly replicas: number;
}

/**
 * Declares each queue's streams and consumers once per process, idempotently: JetStream accepts
 * the same configuration again, so competing processes declare the same thing without racing.
 */
export class Topology {
  readonly settings: TopologySettings;
  readonly #streams = new Map<string, Promise<QueueNames>>();
  readonly #consumers = new Map<string, Promise<QueueNames>>();

  constructor(settings: TopologySettings) {
    this.settings = settings;
  }

  names(queue: string): QueueNames {
    return queueNames(queue, this.settings.prefix);
  }

  /** The queue's streams exist (what an enqueue needs). */
  streams(jsm: JetStreamManager, queue: string): Promise<QueueNames> {
    let pending = this.#streams.get(queue);
    if (!pending) {
      pending = this.#declareStreams(jsm, this.names(queue));
      pending.catch(() => this.#streams.delete(queue));
      this.#streams.set(queue, pending);
    }
    return pending;
  }

  /** The queue's streams and consumers exist (what a worker needs). */
  consumers(jsm: JetStreamManager, queue: string): Promise<QueueNames> {
    let pending = this.#consumers.get(queue);
    if (!pending) {
      pending = this.streams(jsm, queue).then(async (names) => {
        const work = this.#workConsumer(names);
        // A work consumer of an earlier version has the adapter's maxDeliver as its max_deliver: lifted.
        if (await declare(jsm, names.stream, work)) {
          await bringUpToDate(jsm, names.stream, WORK_CONSUMER, (c) => (c.max_deliver ?? -1) <= 0, { max_deliver: -1 });
        }
        // A delayed consumer of an earlier version waits 30 s. The server dates a nakked job's return
        // from its ack wait, so the jobs it holds then come back up to 29 s before due, once: the
        // mover nakks them again for the time left (it reads it from the job).
        const ackWait = nanos(DELAYED_ACK_WAIT_MS);
        if (await declare(jsm, names.stream, delayedConsumer(names))) {
          await bringUpToDate(jsm, names.stream, DELAYED_CONSUMER, (c) => c.ack_wait === ackWait, { ack_wait: ackWait });
        }
        return names;
      });
      pending.catch(() => this.#consumers.delete(queue));
      this.#consumers.set(queue, pending);
    }
    return pending;
  }

  /** Forget what was declared (a stream deleted behind our back is declared again on next use). */
  forget(queue: string): void {
    this.#streams.delete(queue);
    this.#consumers.delete(queue);
  }

  async #declareStreams(jsm: JetStreamManager, names: QueueNames): Promise<QueueNames> {
    const work: Partial<StreamConfig> & { name: string } = {
      name: names.stream,
      subjects: [names.jobSubject, names.delayedSubject],
      // A message is removed once acknowledged: the stream holds what is waiting or running.
      retention: RetentionPolicy.Workqueue,
      storage: StorageType.File,
      num_replicas: this.settings.replicas,
      // How long a message id (the job's id, or its deduplication key) is remembered.
      duplicate_window: nanos(this.settings.duplicateWindowMs),
    };
    const dead: Partial<StreamConfig> & { name: string } = {
      name: names.deadStream,
      subjects: [names.deadSubject],
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      num_replicas: this.settings.replicas,
    };
    await addStream(jsm, work);
    await addStream(jsm, dead);
    return names;
  }

  #workConsumer(names: QueueNames): Partial<ConsumerConfig> {
    return {
      durable_name: WORK_CONSUMER,
      filter_subject: names.jobSubject,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      // The lease: a job not acked, nakked or extended (`working`) within it is delivered again.
      ack_wait: nanos(this.settings.ackWaitMs),
      // No limit: a consumer at its max_deliver would leave the job in the stream, undelivered,
      // where only an advisory nobody may hear says so. Workers dead-letter a job past maxDeliver.
      max_deliver: -1,
      // A worker asks for as many jobs as it has free slots; retries wait nakked, and count as pending.
      max_ack_pending: -1,
    };
  }
}

/**
 * The `delayed` consumer's ack wait. A mover nakks a delayed job with its delay at once, or hands it
 * over in one publish, so it holds nothing for long; a hand-over slower than this is handed over
 * again under the same message id, which the stream drops. It is short because a job whose nak or
 * hand-over a server restart or a cut connection lost (delivered, its answer never processed) comes
 * back only one ack wait later, however long ago it fell due: with 30 s, up to 30 s late.
 */
export const DELAYED_ACK_WAIT_MS = 1_000;

function delayedConsumer(names: QueueNames): Partial<ConsumerConfig> {
  return {
    durable_name: DELAYED_CONSUMER,
    filter_subject: names.delayedSubject,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: nanos(DELAYED_ACK_WAIT_MS),
    max_deliver: -1,
    // Every delayed job sits nakked (pending) on the server until due: no limit on how many.
    max_ack_pending: -1,
  };
}

async function addStream(jsm: JetStreamManager, config: Partial<StreamConfig> & { name: string }): Promise<void> {
  try {
    await jsm.streams.add(config);
  } catch (error) {
    // Declared by another process with the same name: use it as it is (check() reports differences).
    if (/already in use/i.test(String(error))) return;
    throw error;
  }
}

/** Declare a consumer; true if one of that name was there with another configuration (a 2.10+ server keeps it). */
async function declare(jsm: JetStreamManager, stream: string, config: Partial<ConsumerConfig>): Promise<boolean> {
  try {
    await jsm.consumers.add(stream, config);
    return false;
  } catch (error) {
    if (/already (exists|in use)/i.test(String(error))) return true;
    throw error;
  }
}

/**
 * Update a consumer an earlier version declared, unless `current` says it has what `patch` sets: a
 * 2.9 server updated a consumer on declaration, a newer one refuses another configuration for an
 * existing consumer.
 */
async function bringUpToDate(
  jsm: JetStreamManager,
  stream: string,
  consumer: string,
  current: (config: ConsumerConfig) => boolean,
  patch: Partial<ConsumerConfig>,
): Promise<void> {
  const info = await jsm.consumers.info(stream, consumer);
  if (!current(info.config)) await jsm.consumers.update(stream, consumer, patch);
}
