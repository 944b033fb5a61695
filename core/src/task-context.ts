import type { JsonValue } from "./json.ts";

/** What a handler receives besides its payload. */
export interface TaskContext {
  /** The job's id, stable across retries. */
  readonly jobId: string;
  readonly taskName: string;
  readonly queue: string;
  /** 1 for the first run, 2 for the first retry, … */
  readonly attempt: number;
  readonly maxAttempts: number;
  /** The job's headers (trace context, correlation ids); empty when it has none. */
  readonly headers: Readonly<Record<string, string>>;
  /**
   * Aborted when the job times out, the worker shuts down past its grace period, or the job is
   * cancelled while running. Pass it to `fetch`, database drivers, timers.
   */
  readonly signal: AbortSignal;
  /**
   * Report progress (any JSON value, typically a number 0…100 or `{ done, total }`). Stored where
   * the engine stores progress (`capabilities.progress`); elsewhere only the `progress` event fires.
   */
  progress(value: JsonValue): Promise<void>;
}
