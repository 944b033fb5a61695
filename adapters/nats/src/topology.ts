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
  /** The work consumer's `max_deliver`; -1 for none. */
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
        await declare(jsm, names.stream, this.#workConsumer(names));
        await declare(jsm, names.stream, delayedConsumer(names));
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
      max_deliver: this.settings.maxDeliver,
      // A worker asks for as many jobs as it has free slots; retries wait nakked, and count as pending.
      max_ack_pending: -1,
    };
  }
}

function delayedConsumer(names: QueueNames): Partial<ConsumerConfig> {
  return {
    durable_name: DELAYED_CONSUMER,
    filter_subject: names.delayedSubject,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    // A delayed job is nakked with its delay at once: only a mover that died mid-hand-over waits this out.
    ack_wait: nanos(30_000),
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

async function declare(jsm: JetStreamManager, stream: string, config: Partial<ConsumerConfig>): Promise<void> {
  try {
    await jsm.consumers.add(stream, config);
  } catch (error) {
    if (/already (exists|in use)/i.test(String(error))) return;
    throw error;
  }
}
