import { MemoryAdapter } from "@taskport/core";
import { asBroker } from "../../../core/test/support/without-features.ts";
import { DEADLINE_PASSWORD, describeDeadlines, describeStall } from "../../../scripts/test-support/deadline-suite.ts";

// The store beside an engine that keeps no status (the memory engine as a broker is), so every
// enqueue and job start goes through the store's PostgreSQL, which never answers.
describeDeadlines({
  name: "postgres store",
  backend: (port, timeouts) => ({
    adapter: asBroker(new MemoryAdapter()),
    store: `postgres://app:${DEADLINE_PASSWORD}@127.0.0.1:${port}/test?schema=deadlines&${timeouts}`,
  }),
});

describeStall({
  name: "postgres store",
  skip: {
    // The engine here is a memory engine in each backend's own process memory: a producer and a
    // worker cannot share it. A worker's store calls over a lost connection are covered by the
    // engine + store pair suites.
    worker: "the memory engine of one backend is not shared with another",
  },
  serverPort: 5432,
  backend: (address, timeouts) => ({
    adapter: asBroker(new MemoryAdapter()),
    store: `postgres://postgres@${address}/test?schema=taskport_stall&${timeouts}`,
  }),
});
