import { ConfigurationError } from "@taskport/core";
import { describe, expect, it } from "vitest";
import { BullMQAdapter } from "../src/index.ts";
import { runBullMQConformance } from "./conformance-support.ts";
import {
  clientNameOf,
  DATABASE_URL,
  HAS_POSTGRES_BACKEND,
  postgresTestAdapter,
  TEST_SCHEMA,
  terminateConnections,
} from "./postgres-support.ts";

/** `url` with its host and port replaced by `address`. */
function viaAddress(url: string, address: string): string {
  const via = new URL(url);
  via.host = address;
  return via.href;
}

if (!HAS_POSTGRES_BACKEND) {
  // The run on the oldest BullMQ of the peer range (5.59): no PostgreSQL backend to test, but the
  // adapter must say so rather than fail at import or at the first job.
  describe("bullmq-postgres on a BullMQ without a PostgreSQL backend", () => {
    it("refuses with a ConfigurationError that names the version to install", () => {
      expect(() => postgresTestAdapter("old")).toThrow(ConfigurationError);
      expect(() => postgresTestAdapter("old")).toThrow(/bullmq 6\.7 or newer/);
    });
  });
} else {
  await runBullMQConformance({
    name: "bullmq-postgres",
    adapter: (testId, address) => postgresTestAdapter(testId, address === undefined ? DATABASE_URL : viaAddress(DATABASE_URL, address)),
    engine: { host: new URL(DATABASE_URL).hostname, port: Number(new URL(DATABASE_URL).port || 5432) },
    // Its pools' and its workers' LISTEN connections, found by name; node-postgres and BullMQ reconnect.
    cutConnections: (testId) => terminateConnections(clientNameOf(testId)),
    unreachableAdapter: () =>
      new BullMQAdapter({ postgres: { connectionString: "postgres://postgres@127.0.0.1:1/test", schema: TEST_SCHEMA } }),
  });
}
