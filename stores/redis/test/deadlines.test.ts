import { MemoryAdapter } from "@taskport/core";
import { asBroker } from "../../../core/test/support/without-features.ts";
import { DEADLINE_PASSWORD, describeDeadlines, describeStall } from "../../../scripts/test-support/deadline-suite.ts";

// The store beside an engine that keeps no status (the memory engine as a broker is), so every
// enqueue and job start goes through the store's Redis, which never answers.
describeDeadlines({
  name: "redis store",
  backend: (port, timeouts) => ({
    adapter: asBroker(new MemoryAdapter()),
    store: `redis://:${DEADLINE_PASSWORD}@127.0.0.1:${port}/0?${timeouts}`,
  }),
});

describeStall({
  name: "redis store",
  skip: {
    // The engine here is a memory engine in each backend's own process memory: a producer and a
    // worker cannot share it. A worker's store calls over a lost connection are covered by the
    // engine + store pair suites.
    worker: "the memory engine of one backend is not shared with another",
  },
  serverPort: 6379,
  backend: (address, timeouts) => ({
    adapter: asBroker(new MemoryAdapter()),
    store: `redis://${address}/0?prefix=taskport-stall&${timeouts}`,
  }),
});
