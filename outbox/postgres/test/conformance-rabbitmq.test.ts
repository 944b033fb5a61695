import { RabbitMQAdapter } from "@taskport/rabbitmq";
// The rabbitmq adapter's own test helper: it deletes a test's work and dead-letter queues.
import { deleteQueues } from "../../../adapters/rabbitmq/test/support.ts";
import { runPairConformance } from "./pair-conformance.ts";

await runPairConformance({
  engine: "rabbitmq",
  unreachableEngine: () => new RabbitMQAdapter({ url: "amqp://guest:guest@127.0.0.1:1" }),
  cleanupEngine: (_testId, queues) => deleteQueues(queues),
});
