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
  serverPort: 6379,
  backend: (address, timeouts) => ({
    adapter: asBroker(new MemoryAdapter()),
    store: `redis://${address}/0?prefix=taskport-stall&${timeouts}`,
  }),
});
