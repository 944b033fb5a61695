import { runConformance } from "@taskport/conformance";
import { MemoryAdapter, MemoryStore, withJobStore } from "../src/index.ts";
import { asBroker } from "./support/without-features.ts";

// The store layer on its own: an engine without results, cancel, deduplication or progress (as a
// broker is), given all four by the memory store. Adapters of one test share the engine and the store.
const shared = new Map<string, { engine: MemoryAdapter; store: MemoryStore }>();

await runConformance({
  // "~": a run of the core's store layer on a test double, left out of the README's matrix.
  name: "broker~memory-store",
  createAdapter: ({ testId }) => {
    const pair = shared.get(testId) ?? { engine: new MemoryAdapter(), store: new MemoryStore() };
    shared.set(testId, pair);
    return withJobStore(asBroker(pair.engine), pair.store);
  },
  capabilities: {
    results: true,
    cancel: true,
    cancelRunning: true,
    deduplication: "until-finished",
    progress: true,
    transactions: false,
  },
  optOut: {
    serviceRestart: "in-process: there is no server to restart",
  },
});
