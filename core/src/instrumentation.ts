import type { Delivery, Settlement } from "./contract.ts";

/** One enqueue call, as instrumentation sees it before the engine does. */
export interface EnqueueBatch {
  /** The engine's name (`bullmq`, `rabbitmq`, …): `messaging.system` in OpenTelemetry's terms. */
  readonly engine: string;
  readonly taskName: string;
  readonly queue: string;
  /**
   * Each job's id and headers. Instrumentation may add headers (trace context) when
   * `carriesHeaders` is true: the engine then delivers them to the handler.
   */
  readonly jobs: readonly { readonly id: string; readonly headers: Record<string, string> }[];
  readonly carriesHeaders: boolean;
}

/** One attempt of a job, as instrumentation sees it around the handler. */
export interface AttemptInfo {
  readonly engine: string;
  readonly delivery: Delivery;
}

/**
 * Hooks for tracing, metrics and logging, the same on every engine: registered once
 * (`configure({ instrumentations })`), they see every enqueue and every attempt. The OpenTelemetry
 * package is one; nothing is paid when none is registered.
 */
export interface Instrumentation {
  /** Before an enqueue reaches the engine; the returned function is told how it ended. */
  enqueue?(batch: EnqueueBatch): ((error: unknown) => void) | undefined;
  /** Around one attempt: call `run` (the handler and its settlement) and return what it returns. */
  attempt?(info: AttemptInfo, run: () => Promise<Settlement>): Promise<Settlement>;
}

let registered: readonly Instrumentation[] = [];

/** Replace the registered instrumentations (`configure({ instrumentations })` calls this). */
export function setInstrumentations(list: readonly Instrumentation[] | undefined): void {
  registered = Object.freeze([...(list ?? [])]);
}

export function instrumentations(): readonly Instrumentation[] {
  return registered;
}

/** Run an attempt inside every registered instrumentation's `attempt` hook, outermost first. */
export function runInstrumented(info: AttemptInfo, run: () => Promise<Settlement>): Promise<Settlement> {
  let next = run;
  for (let i = registered.length - 1; i >= 0; i--) {
    const hook = registered[i]?.attempt;
    if (!hook) continue;
    const inner = next;
    next = () => hook.call(registered[i], info, inner);
  }
  return next();
}
