import { DeleteMessageBatchCommand, type SQSClient } from "@aws-sdk/client-sqs";

interface PendingDelete {
  readonly receiptHandle: string;
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

/**
 * Deletes settled messages with `DeleteMessageBatch`: deletes asked for in the same turn of the
 * event loop share one call (up to 10), so a busy worker makes one call where it would make ten.
 * A delete is only asked for once its handler has settled; each caller waits for its own.
 */
export class AckBatcher {
  readonly #client: () => SQSClient;
  readonly #pending = new Map<string, PendingDelete[]>();
  #scheduled = false;

  constructor(client: () => SQSClient) {
    this.#client = client;
  }

  delete(url: string, receiptHandle: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const list = this.#pending.get(url) ?? [];
      list.push({ receiptHandle, resolve, reject });
      this.#pending.set(url, list);
      if (list.length >= 10) {
        this.#pending.delete(url);
        void this.#flushOne(url, list);
      } else if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(() => this.#flush());
      }
    });
  }

  #flush(): void {
    this.#scheduled = false;
    const all = [...this.#pending];
    this.#pending.clear();
    for (const [url, list] of all) void this.#flushOne(url, list);
  }

  async #flushOne(url: string, list: PendingDelete[]): Promise<void> {
    try {
      const out = await this.#client().send(
        new DeleteMessageBatchCommand({ QueueUrl: url, Entries: list.map((d, i) => ({ Id: String(i), ReceiptHandle: d.receiptHandle })) }),
      );
      const failed = new Map((out.Failed ?? []).map((f) => [Number(f.Id), f]));
      list.forEach((d, i) => {
        const f = failed.get(i);
        if (f) d.reject(Object.assign(new Error(`deleting a message failed: ${f.Code}: ${f.Message}`), { code: f.Code }));
        else d.resolve();
      });
    } catch (error) {
      for (const d of list) d.reject(error as Error);
    }
  }
}
