import { runStoreConformance } from "@taskport/conformance";
import { MemoryStore } from "../src/index.ts";

// Stores of one namespace share their records, as two processes share one database.
const stores = new Map<string, MemoryStore>();

runStoreConformance({
  name: "memory-store",
  createStore: (namespace) => {
    const store = stores.get(namespace) ?? new MemoryStore();
    stores.set(namespace, store);
    return store;
  },
});
