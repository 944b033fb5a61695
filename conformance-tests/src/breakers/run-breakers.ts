import type { Adapter, Capabilities } from "@taskport/core";
import type { ConformanceOptions } from "../harness.ts";
import { runConformance } from "../run-conformance.ts";
import { BREAKERS } from "./all-breakers.ts";
import type { Breaker } from "./breaker.ts";

/** The breakers whose obligation exists for an adapter declaring `capabilities`. */
export function applicableBreakers(capabilities: Capabilities, breakers: readonly Breaker[] = BREAKERS): Breaker[] {
  return breakers.filter((breaker) => !breaker.applies || breaker.applies(capabilities));
}

export interface BreakerRunOptions extends Omit<ConformanceOptions, "only" | "bail" | "capabilities"> {
  /**
   * Run every n-th breaker from the i-th, as `"i/n"`: slices of breakers run side by side in
   * several vitests (a caught breaker mostly waits out its test's deadline). Default
   * `$TASKPORT_BREAKER_SLICE`, else all of them.
   */
  readonly slice?: string;
  /** Default: every breaker. */
  readonly breakers?: readonly Breaker[];
}

/**
 * Register the suite once per breaker, over the adapter wrapped by it, with only the group that
 * must catch it, up to its first failed test. Every one of these runs is expected to FAIL; `checkBreakers` reads their reports
 * (named `<name>~<breaker>`) and says which breaker was not caught. Call it at the top level of a
 * test file run by a vitest of its own, as `runConformance`.
 */
export async function runBreakers(options: BreakerRunOptions): Promise<void> {
  const { slice: sliceOption, breakers = BREAKERS, ...conformance } = options;
  const [slice = 0, slices = 1] = (sliceOption ?? process.env.TASKPORT_BREAKER_SLICE ?? "0/1").split("/").map(Number);
  const probe = await conformance.createAdapter({ testId: "probe" });
  const capabilities = probe.capabilities;
  await probe.close();
  for (const [index, breaker] of applicableBreakers(capabilities, breakers).entries()) {
    if (index % slices !== slice) continue;
    await runConformance({
      ...conformance,
      name: `${conformance.name}~${breaker.name}`,
      only: [breaker.caughtBy],
      bail: true,
      createAdapter: async (context): Promise<Adapter> => breaker.wrap(await conformance.createAdapter(context)),
    });
  }
}
