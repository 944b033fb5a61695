import type { Delivery, JsonValue } from "@taskport/core";
import type { ClaimedRow } from "./statements.ts";

/** One claimed job, as handed to the worker: the lease it runs under is `owner` + `attempt`. */
export class HeldJob implements Delivery {
  readonly seq: number;
  readonly id: string;
  readonly name: string;
  readonly queue: string;
  readonly payload: unknown;
  readonly attempt: number;
  readonly maxAttempts: number;
  readonly timeoutMs: number | undefined;
  readonly headers: Readonly<Record<string, string>> | undefined;
  /** Set once the job is no longer this worker's to settle (given back, or its lease was lost). */
  dropped = false;
  readonly #saveProgress: (job: HeldJob, valueJson: string) => Promise<void>;
  #abort: AbortController | undefined;

  constructor(row: ClaimedRow, saveProgress: (job: HeldJob, valueJson: string) => Promise<void>) {
    this.seq = row.seq;
    this.id = row.id;
    this.name = row.name;
    this.queue = row.queue;
    this.payload = JSON.parse(row.payload);
    this.attempt = row.attempt;
    this.maxAttempts = row.max_attempts;
    this.timeoutMs = row.timeout_ms ?? undefined;
    this.headers = row.headers === null ? undefined : (JSON.parse(row.headers) as Record<string, string>);
    this.#saveProgress = saveProgress;
  }

  /** Created only when read: most handlers never look at it. */
  get signal(): AbortSignal {
    this.#abort ??= new AbortController();
    return this.#abort.signal;
  }

  abort(reason: unknown): void {
    this.#abort ??= new AbortController();
    if (!this.#abort.signal.aborted) this.#abort.abort(reason);
  }

  progress(value: JsonValue): Promise<void> {
    return this.#saveProgress(this, JSON.stringify(value));
  }
}
