import { createHash } from "node:crypto";
import {
  type MessageAttributeValue,
  SendMessageBatchCommand,
  type SendMessageBatchRequestEntry,
  SendMessageCommand,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import { BulkEnqueueError, type UnstoredJob } from "@taskport/core";
import type { QueueRegistry } from "./queue-registry.ts";
import { isQueueMissing, isTransient } from "./sqs-errors.ts";
import { MAX_BATCH_COUNT, ORIGIN } from "./sqs-limits.ts";

/** Failed entries that SQS marks as its own fault are sent again this many times. */
const SERVER_FAULT_RETRIES = 2;
/** A batch call that failed on the way (network, timeout, throttling) is sent again this many times. */
const TRANSIENT_RETRIES = 3;

/** One message to send. */
export interface Outgoing {
  readonly queue: string;
  /** The job id: names the job in a partial failure. */
  readonly id: string;
  readonly body: string;
  readonly attributes: Record<string, MessageAttributeValue>;
  /** Whole seconds to keep the message invisible (standard queues only). */
  readonly delaySeconds?: number;
  /** FIFO queues: the message group (ordering scope) and the deduplication id. */
  readonly groupId?: string;
  readonly deduplicationId?: string;
}

/** Single sends waiting to share a batch call. */
interface Coalesced {
  readonly messages: Outgoing[];
  readonly sizes: number[];
  readonly waiters: { resolve: () => void; reject: (error: unknown) => void }[];
  bytes: number;
}

interface Attempted {
  readonly message: Outgoing;
  error?: UnstoredJob;
}

/**
 * Sends messages with `SendMessageBatch`: grouped by queue, chunks of 10 (and of at most
 * `maxBatchBytes`), all chunks in flight at once (in sequence for FIFO queues). Entries SQS refuses are retried when the fault
 * is SQS's; what still failed is reported per job, never dropped.
 */
export class Sender {
  readonly #client: () => SQSClient;
  readonly #queues: QueueRegistry;
  readonly #maxBatchBytes: number;
  readonly #coalesced = new Map<string, Coalesced>();
  /** Queues with an uncoalesced single send in flight. */
  readonly #singlesInFlight = new Set<string>();

  constructor(client: () => SQSClient, queues: QueueRegistry, maxBatchBytes: number) {
    this.#client = client;
    this.#queues = queues;
    this.#maxBatchBytes = maxBatchBytes;
  }

  /**
   * Send one message. While another single send to its queue is in flight, single sends of the
   * same turn of the event loop share one SendMessageBatch (an app enqueueing from 50 requests at
   * once makes 6 calls, not 50); alone, it goes at once. Rejects as `send` would for a batch of
   * this message alone.
   */
  sendOne(message: Outgoing, size: number): Promise<void> {
    const queue = message.queue;
    if (!this.#coalesced.has(queue) && !this.#singlesInFlight.has(queue)) {
      // Nothing to share a call with: send at once rather than wait for the turn to end.
      this.#singlesInFlight.add(queue);
      return this.send([message], [size]).finally(() => this.#singlesInFlight.delete(queue));
    }
    return new Promise((resolve, reject) => {
      let group = this.#coalesced.get(message.queue);
      if (group && (group.messages.length === MAX_BATCH_COUNT || group.bytes + size > this.#maxBatchBytes)) {
        this.#flushGroup(message.queue, group);
        group = undefined;
      }
      if (!group) {
        const created: Coalesced = { messages: [], sizes: [], waiters: [], bytes: 0 };
        this.#coalesced.set(message.queue, created);
        setImmediate(() => {
          if (this.#coalesced.get(message.queue) === created) this.#flushGroup(message.queue, created);
        });
        group = created;
      }
      group.messages.push(message);
      group.sizes.push(size);
      group.waiters.push({ resolve, reject });
      group.bytes += size;
    });
  }

  #flushGroup(queue: string, group: Coalesced): void {
    this.#coalesced.delete(queue);
    this.send(group.messages, group.sizes).then(
      () => {
        for (const waiter of group.waiters) waiter.resolve();
      },
      (error: unknown) => {
        group.messages.forEach((message, i) => {
          const waiter = group.waiters[i] as Coalesced["waiters"][number];
          const failed = error instanceof BulkEnqueueError ? error.failed.find((f) => f.id === message.id) : undefined;
          if (!(error instanceof BulkEnqueueError)) waiter.reject(error);
          else if (failed) waiter.reject(new BulkEnqueueError(ORIGIN, [], [failed]));
          else waiter.resolve();
        });
      },
    );
  }

  async send(messages: readonly Outgoing[], sizes: readonly number[]): Promise<void> {
    const attempts: Attempted[] = messages.map((message) => ({ message }));
    const byQueue = new Map<string, { items: Attempted[]; sizes: number[] }>();
    attempts.forEach((item, i) => {
      const group = byQueue.get(item.message.queue) ?? { items: [], sizes: [] };
      group.items.push(item);
      group.sizes.push(sizes[i] ?? 0);
      byQueue.set(item.message.queue, group);
    });
    let firstError: unknown;
    await Promise.all(
      [...byQueue].map(async ([queue, group]) => {
        try {
          await this.#sendQueue(queue, group.items, group.sizes);
        } catch (error) {
          firstError ??= error;
          for (const item of group.items) item.error ??= failure(item.message.id, error);
        }
      }),
    );
    const failed = attempts.filter((a) => a.error).map((a) => a.error as UnstoredJob);
    if (failed.length === 0) return;
    // Nothing stored and one cause: that cause is the error (a connection problem, a missing queue).
    if (failed.length === attempts.length && firstError !== undefined) throw firstError;
    throw new BulkEnqueueError(
      ORIGIN,
      attempts.filter((a) => !a.error).map((a) => a.message.id),
      failed,
    );
  }

  async #sendQueue(queue: string, items: Attempted[], sizes: number[]): Promise<void> {
    let url = await this.#queues.url(queue);
    const chunks = chunk(items, sizes, this.#maxBatchBytes);
    const results = await this.#sendChunks(url, chunks);
    const missing = results.some((r) => r.status === "rejected" && isQueueMissing(r.reason));
    if (missing && this.#queues.settings.createQueues) {
      // The queue vanished after it was resolved (deleted, emulator restarted): resolve it again once.
      this.#queues.forget(queue);
      url = await this.#queues.url(queue);
      const again = chunks.filter((_, i) => results[i]?.status === "rejected");
      const retried = await this.#sendChunks(url, again);
      markRejected(again, retried);
      return;
    }
    markRejected(chunks, results);
  }

  /**
   * Standard queues: every chunk in flight at once. FIFO queues: one chunk after another, since
   * SQS orders a group by arrival and concurrent calls may arrive in any order.
   */
  async #sendChunks(url: string, chunks: Attempted[][]): Promise<PromiseSettledResult<void>[]> {
    const fifo = chunks[0]?.[0]?.message.groupId !== undefined;
    if (!fifo) return Promise.allSettled(chunks.map((c) => this.#sendChunk(url, c)));
    const results: PromiseSettledResult<void>[] = [];
    for (const c of chunks) {
      results.push(
        await this.#sendChunk(url, c).then(
          () => ({ status: "fulfilled", value: undefined }) as const,
          (reason: unknown) => ({ status: "rejected", reason }) as const,
        ),
      );
    }
    return results;
  }

  async #sendChunk(url: string, items: Attempted[]): Promise<void> {
    let pending = items;
    for (let round = 0; pending.length > 0; round++) {
      const out = await this.#call(url, pending);
      const retry: Attempted[] = [];
      for (const failed of out.Failed ?? []) {
        const item = pending[Number(failed.Id)];
        if (!item) continue;
        if (!failed.SenderFault && round < SERVER_FAULT_RETRIES) retry.push(item);
        else item.error = { id: item.message.id, code: failed.Code ?? "Failed", message: failed.Message ?? "refused by SQS" };
      }
      pending = retry;
    }
  }

  /**
   * One batch call, tried again after a transient failure. A call that reached SQS but whose
   * answer was lost may store its messages twice: at-least-once (FIFO deduplication ids absorb it).
   */
  async #call(url: string, pending: Attempted[]) {
    for (let attempt = 0; ; attempt++) {
      try {
        if (pending.length > 1) {
          return await this.#client().send(
            new SendMessageBatchCommand({ QueueUrl: url, Entries: pending.map((item, i) => entry(item.message, i)) }),
          );
        }
        // One message: SendMessage is the cheaper call; a refusal is thrown rather than listed.
        const { Id: _, ...single } = entry((pending[0] as Attempted).message, 0);
        await this.#client().send(new SendMessageCommand({ QueueUrl: url, ...single }));
        return { Failed: [] };
      } catch (error) {
        if (attempt >= TRANSIENT_RETRIES || !isTransient(error)) throw error;
        await new Promise((resolve) => setTimeout(resolve, 100 * 2 ** attempt));
      }
    }
  }
}

function entry(message: Outgoing, index: number): SendMessageBatchRequestEntry {
  const out: SendMessageBatchRequestEntry = { Id: String(index), MessageBody: message.body, MessageAttributes: message.attributes };
  if (message.delaySeconds) out.DelaySeconds = message.delaySeconds;
  if (message.groupId !== undefined) out.MessageGroupId = message.groupId;
  if (message.deduplicationId !== undefined) out.MessageDeduplicationId = message.deduplicationId;
  return out;
}

function chunk(items: Attempted[], sizes: number[], maxBytes: number): Attempted[][] {
  const chunks: Attempted[][] = [];
  let current: Attempted[] = [];
  let bytes = 0;
  items.forEach((item, i) => {
    const size = sizes[i] ?? 0;
    if (current.length === MAX_BATCH_COUNT || (current.length > 0 && bytes + size > maxBytes)) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(item);
    bytes += size;
  });
  if (current.length > 0) chunks.push(current);
  return chunks;
}

function markRejected(chunks: Attempted[][], results: PromiseSettledResult<void>[]): void {
  results.forEach((result, i) => {
    if (result.status === "rejected") for (const item of chunks[i] ?? []) item.error ??= failure(item.message.id, result.reason);
  });
}

function failure(id: string, error: unknown): UnstoredJob {
  const e = error as { name?: string; message?: string } | undefined;
  return { id, code: e?.name ?? "Error", message: e?.message ?? String(error) };
}

/** A FIFO deduplication id: the key itself when SQS accepts it (1–128 printable ASCII), else its SHA-256. */
export function deduplicationId(key: string): string {
  if (/^[\x21-\x7E]{1,128}$/.test(key)) return key;
  return createHash("sha256").update(key).digest("hex");
}
