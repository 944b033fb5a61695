import { runConformance } from "@taskport/conformance";
import { withJobStore } from "@taskport/core";
import { afterAll } from "vitest";
import { conformanceStore, dropConformanceStore } from "../../../stores/postgres/test/support.ts";
import { RabbitMQAdapter } from "../src/index.ts";
import { AMQP_URL, deleteQueues } from "./support.ts";

// Sweep often, so the retention group sees records go within seconds (default: once a minute).
const SWEEP = { sweepIntervalMs: 500 };

// RabbitMQ with a PostgreSQL job store beside it: results, status, cancel, until-finished
// deduplication and progress come from the store, everything else from the broker.

// The unreachable adapter has a working store: an enqueue records the job, the broker refuses it,
// and the record is forgotten. (A store that is down is the store's own tests' business.)
const spareStore = `unreachable${process.pid}`;
afterAll(() => dropConformanceStore(spareStore));

await runConformance({
  name: "rabbitmq+postgres",
  createAdapter: ({ testId, nativeDelayLimitMs }) =>
    withJobStore(
      new RabbitMQAdapter({
        url: AMQP_URL,
        connectionName: `tp-${testId}`,
        ...(nativeDelayLimitMs !== undefined ? { maxDelayBucketMs: nativeDelayLimitMs } : {}),
        maxPayloadBytes: 1024 * 1024,
      }),
      conformanceStore(testId),
      SWEEP,
    ),
  capabilities: {
    results: true,
    cancel: true,
    cancelRunning: true,
    deduplication: "until-finished",
    progress: true,
    retention: true,
    redrive: true,
    discardDeadLetters: true,
    stats: true,
    listJobs: true,
  },
  optOut: {
    serviceRestart:
      "the broker's restart is covered by the rabbitmq run; a second restart from this file would cut into that run's tests, which run at the same time",
    networkFaults: "the engine's connections are faulted by its own run; a silent store by stores/postgres/test",
    blackHole: "the engine's connections are faulted by its own run; a silent store by stores/postgres/test",
  },
  harness: {
    unreachableAdapter: () => withJobStore(new RabbitMQAdapter({ url: "amqp://guest:guest@127.0.0.1:1" }), conformanceStore(spareStore)),
    async cleanup(testId, queues) {
      await deleteQueues(queues);
      await dropConformanceStore(testId);
    },
  },
});
