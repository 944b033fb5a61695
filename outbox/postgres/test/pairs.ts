/**
 * Each engine with the PostgreSQL outbox, as the conformance runs build them. Also imported by the
 * suite's relay child process (`createAdapter` is its entry point), so it must not import vitest.
 */
import { BeeQueueAdapter } from "@taskport/bee-queue";
import { BullMQAdapter } from "@taskport/bullmq";
import { type Adapter, type OutboxAdapter, withOutbox } from "@taskport/core";
import { RabbitMQAdapter } from "@taskport/rabbitmq";
import { SqsAdapter } from "@taskport/sqs";
import { PostgresOutbox } from "../src/index.ts";
import { DATABASE_URL, TEST_SCHEMA } from "./support.ts";

export type PairEngine = "bullmq" | "bee-queue" | "rabbitmq" | "sqs";

const REDIS = { host: process.env.TASKPORT_REDIS_HOST ?? "127.0.0.1", port: Number(process.env.TASKPORT_REDIS_PORT ?? 6379) };
export const AMQP_URL = process.env.TASKPORT_AMQP_URL ?? "amqp://guest:guest@127.0.0.1:5672";
export const SQS_CREDENTIALS = { accessKeyId: "test", secretAccessKey: "test" };
export const SQS_REGION = "us-east-1";

/** Key prefixes apart from the engines' own test runs. */
export const PREFIX = { bullmq: "tpobull", "bee-queue": "tpobq" } as const;

/** The engine alone, with the short leases its own conformance run uses. */
export function engineAdapter(engine: PairEngine, testId: string, sqsEndpoint?: string, nativeDelayLimitMs?: number): Adapter {
  switch (engine) {
    case "bullmq":
      return new BullMQAdapter({
        redis: REDIS,
        prefix: PREFIX.bullmq,
        lockDurationMs: 3_000,
        stalledIntervalMs: 1_000,
        clientName: `tp-${testId}`,
      });
    case "bee-queue":
      return new BeeQueueAdapter({ redis: REDIS, prefix: PREFIX["bee-queue"], stallIntervalMs: 2_000, clientName: `tp-${testId}` });
    case "rabbitmq":
      return new RabbitMQAdapter({
        url: AMQP_URL,
        connectionName: `tp-${testId}`,
        maxPayloadBytes: 1024 * 1024,
        ...(nativeDelayLimitMs !== undefined ? { maxDelayBucketMs: nativeDelayLimitMs } : {}),
      });
    case "sqs":
      if (!sqsEndpoint) throw new Error("the sqs pair needs the emulator's endpoint");
      return new SqsAdapter({
        endpoint: sqsEndpoint,
        region: SQS_REGION,
        credentials: SQS_CREDENTIALS,
        createQueues: true,
        visibilityTimeout: 3,
        ...(nativeDelayLimitMs !== undefined ? { maxNativeDelayMs: nativeDelayLimitMs } : {}),
      });
  }
}

/** The outbox of one test: the shared test schema, the test's own target and connection name. */
export function testOutbox(testId: string): PostgresOutbox {
  return new PostgresOutbox({ connectionString: DATABASE_URL, schema: TEST_SCHEMA, max: 2, applicationName: `tp-${testId}-outbox` });
}

/** `engine` with the outbox, rows under the test's own target. */
export function createAdapter(
  context: { testId: string; nativeDelayLimitMs?: number },
  engine: string,
  sqsEndpoint?: string,
): OutboxAdapter {
  const adapter = engineAdapter(engine as PairEngine, context.testId, sqsEndpoint, context.nativeDelayLimitMs);
  // Polling is a fallback: the tests that do not cut connections are woken by NOTIFY alone.
  return withOutbox(adapter, testOutbox(context.testId), { target: context.testId, pollMs: 500 });
}
