import { runStoreConformance } from "@taskport/conformance";
import { PostgresStore } from "../src/index.ts";
import { dropSchema, storeIn } from "./support.ts";

// Each namespace is a schema of its own; two stores over one schema are two processes sharing a database.
runStoreConformance({
  name: "postgres-store",
  createStore: (namespace) => storeIn(namespace),
  unreachableStore: () => new PostgresStore({ url: "postgres://taskport:secret-password@127.0.0.1:1/test" }),
  cleanup: dropSchema,
});
