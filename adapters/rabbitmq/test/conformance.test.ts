import { type AdapterContext, runConformance } from "@taskport/conformance";
import { RabbitMQAdapter } from "../src/index.ts";
import { AMQP_URL, deleteQueues, restartRabbit } from "./support.ts";
// The adapter's own broker tests (delays, bad input, interop, connection loss, broker restart)
// register in this file rather than in one of their own: vitest runs files in
// parallel, and a broker restart from one file would cut into the timing tests of the other.
import "./adapter-behaviour.ts";

const create = ({ testId, nativeDelayLimitMs }: AdapterContext, url: string) =>
  new RabbitMQAdapter({
    url,
    connectionName: `tp-${testId}`,
    ...(nativeDelayLimitMs !== undefined ? { maxDelayBucketMs: nativeDelayLimitMs } : {}),
    // The suite's oversize test builds a payload of this size; RabbitMQ's real limit (128 MiB) is
    // covered by the adapter's own test without allocating it.
    maxPayloadBytes: 1024 * 1024,
  });

/** `url` with its host and port replaced by `address`. */
function viaAddress(url: string, address: string): string {
  const via = new URL(url);
  via.host = address;
  return via.href;
}

await runConformance({
  name: "rabbitmq",
  // Queue names come from the suite's testId; delay buckets are shared and expire by themselves.
  createAdapter: (context) => create(context, AMQP_URL),
  capabilities: {
    delay: true,
    maxNativeDelayMs: 2 ** 30,
    priority: true,
    results: false,
    cancel: false,
    deduplication: false,
    nativeBulkEnqueue: true,
    transactions: false,
    ordering: "none",
    progress: false,
    deadLetter: true,
    crashCountsAsAttempt: false,
    redrive: true,
    discardDeadLetters: true,
    maxPayloadBytes: 1024 * 1024,
  },
  harness: {
    restartServer: restartRabbit,
    connectVia: {
      engine: { host: new URL(AMQP_URL).hostname, port: Number(new URL(AMQP_URL).port || 5672) },
      createAdapter: (context, address) => create(context, viaAddress(AMQP_URL, address)),
    },
    unreachableAdapter: () => new RabbitMQAdapter({ url: "amqp://guest:guest@127.0.0.1:1" }),
    cleanup: (_testId, queues) => deleteQueues(queues),
  },
});
