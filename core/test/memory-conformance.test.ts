import { runConformance } from "@taskport/conformance";
import { type Adapter, MemoryAdapter } from "../src/index.ts";

// Adapters created for one test share one engine, as separate processes share one server.
const engines = new Map<string, MemoryAdapter>();

await runConformance({
  name: "memory",
  createAdapter: ({ testId }) => {
    const engine = engines.get(testId) ?? new MemoryAdapter();
    engines.set(testId, engine);
    return engine;
  },
  capabilities: {
    delay: true,
    priority: true,
    results: true,
    cancel: true,
    deduplication: "until-finished",
    transactions: true,
    ordering: "fifo",
    progress: true,
    deadLetter: true,
    crashCountsAsAttempt: true,
  },
  harness: {
    async transaction(adapter: Adapter, outcome, work) {
      const tx = (adapter as MemoryAdapter).transaction();
      await work(tx);
      if (outcome === "commit") tx.commit();
      else tx.rollback();
    },
  },
  optOut: {
    serviceRestart: "in-process: there is no server to restart",
  },
});
