import type { Adapter, Capabilities } from "@taskport/core";
import type { GroupName } from "../harness.ts";

/**
 * An adapter wrapper that breaks exactly one obligation of the adapter contract. The suite run
 * against an adapter wrapped by it must fail in `caughtBy`: that is the proof the suite checks the
 * obligation. Wrap your own adapter with one to see that your suite run catches it.
 */
export interface Breaker {
  /** Short, stable: `early-delivery`. */
  readonly name: string;
  /** The obligation it breaks, in the contract's words. */
  readonly obligation: string;
  /** The group whose tests must fail. */
  readonly caughtBy: GroupName;
  /** Applies only to adapters declaring these capabilities (the obligation exists only then). */
  readonly applies?: (capabilities: Capabilities) => boolean;
  wrap(adapter: Adapter): Adapter;
}

const OPTIONAL = [
  "getJob",
  "cancel",
  "listDeadLetters",
  "check",
  "watch",
  "stats",
  "listJobs",
  "redrive",
  "discardDeadLetters",
  "pause",
  "resume",
] as const;

/** `adapter` as it is, but for `overrides`: every other method forwards to it. */
export function forward(adapter: Adapter, overrides: Partial<Adapter>): Adapter {
  const out: Record<string, unknown> = {
    name: adapter.name,
    capabilities: adapter.capabilities,
    enqueue: adapter.enqueue.bind(adapter),
    consume: adapter.consume.bind(adapter),
    close: adapter.close.bind(adapter),
  };
  for (const method of OPTIONAL) {
    const fn = adapter[method] as ((...args: unknown[]) => unknown) | undefined;
    if (typeof fn === "function") out[method] = fn.bind(adapter);
  }
  return { ...(out as unknown as Adapter), ...overrides };
}
