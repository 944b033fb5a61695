import { runStoreConformance } from "@taskport/conformance";
import { RedisStore } from "../src/index.ts";
import { deletePrefix, testStore } from "./support.ts";

runStoreConformance({
  name: "redis-store",
  createStore: (namespace) => testStore(namespace),
  unreachableStore: () => new RedisStore({ url: "redis://:secret-password@127.0.0.1:1/0" }),
  cleanup: deletePrefix,
});
