import { ChangeMessageVisibilityBatchCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { isLeaseLost } from "./sqs-errors.ts";

interface Lease {
  readonly url: string;
  readonly receiptHandle: string;
  /** Called once when SQS refuses to extend the lease: the message may now be delivered to another worker. */
  readonly onLost: () => void;
}

/**
 * The heartbeat: while a message is held (buffered or running), its visibility timeout is
 * extended every third of it, with `ChangeMessageVisibilityBatch` per queue. A message stops
 * being extended as soon as it is released, before it is settled.
 */
export class LeaseKeeper {
  readonly #client: () => SQSClient;
  readonly #visibility: number;
  readonly #extending: boolean;
  readonly #onError: (error: unknown) => void;
  readonly #leases = new Map<string, Lease>();
  #timer: NodeJS.Timeout | undefined;
  /** The extension round in flight, if any: a settlement that changes visibility waits for it. */
  #round: Promise<void> = Promise.resolve();

  constructor(client: () => SQSClient, visibilitySeconds: number, extending: boolean, onError: (error: unknown) => void) {
    this.#client = client;
    this.#visibility = visibilitySeconds;
    this.#extending = extending;
    this.#onError = onError;
  }

  hold(lease: Lease): void {
    this.#leases.set(lease.receiptHandle, lease);
    if (!this.#timer && this.#extending) {
      this.#timer = setInterval(() => this.#extend(), Math.max(200, (this.#visibility * 1000) / 3));
      this.#timer.unref();
    }
  }

  /**
   * Stop extending a message. Resolves once no extension that includes it is in flight, so a
   * visibility change made afterwards (a retry's backoff) is not overwritten by a late heartbeat.
   */
  release(receiptHandle: string): Promise<void> {
    this.#leases.delete(receiptHandle);
    if (this.#leases.size === 0) this.stop();
    return this.#round;
  }

  get size(): number {
    return this.#leases.size;
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #extend(): void {
    const byUrl = new Map<string, Lease[]>();
    for (const lease of this.#leases.values()) {
      const list = byUrl.get(lease.url) ?? [];
      list.push(lease);
      byUrl.set(lease.url, list);
    }
    const calls: Promise<void>[] = [];
    for (const [url, leases] of byUrl) {
      for (let i = 0; i < leases.length; i += 10) calls.push(this.#extendChunk(url, leases.slice(i, i + 10)));
    }
    this.#round = Promise.all(calls).then(() => undefined);
  }

  async #extendChunk(url: string, leases: Lease[]): Promise<void> {
    try {
      const out = await this.#client().send(
        new ChangeMessageVisibilityBatchCommand({
          QueueUrl: url,
          Entries: leases.map((lease, i) => ({ Id: String(i), ReceiptHandle: lease.receiptHandle, VisibilityTimeout: this.#visibility })),
        }),
      );
      for (const failed of out.Failed ?? []) {
        const lease = leases[Number(failed.Id)];
        // Released meanwhile (settled): nothing is lost.
        if (!lease || !this.#leases.has(lease.receiptHandle)) continue;
        if (isLeaseLost(failed.Code)) {
          this.#leases.delete(lease.receiptHandle);
          lease.onLost();
        } else {
          this.#onError(new Error(`extending a message's visibility failed: ${failed.Code}: ${failed.Message}`));
        }
      }
    } catch (error) {
      // The next round tries again; the visibility timeout left is the margin.
      this.#onError(error);
    }
  }
}
