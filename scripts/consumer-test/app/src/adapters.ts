import { SQSClient } from "@aws-sdk/client-sqs";
import { BeeQueueAdapter } from "@taskport/bee-queue";
import { BullMQAdapter } from "@taskport/bullmq";
import type { Adapter } from "@taskport/core";
import { NatsAdapter } from "@taskport/nats";
import { PgBossAdapter } from "@taskport/pg-boss";
import { RabbitMQAdapter } from "@taskport/rabbitmq";
import { SqsAdapter } from "@taskport/sqs";
import { Redis } from "ioredis";
import pg from "pg";

/**
 * Every adapter, each given objects the app made with its own copy of the engine library: this file
 * compiles only if the adapters' types are the app's engine types (a second, nested copy of ioredis
 * makes `connection` a type error). Constructing opens no connection.
 */
export function everyAdapter(): { adapters: Adapter[]; close(): Promise<void> } {
  const redis = new Redis({ lazyConnect: true });
  const pool = new pg.Pool({ max: 1 });
  const sqs = new SQSClient({ region: "us-east-1" });
  const adapters: Adapter[] = [
    new BullMQAdapter({ connection: redis }),
    new BeeQueueAdapter({ redis: { host: "127.0.0.1" } }),
    new PgBossAdapter({ pool }),
    new RabbitMQAdapter({ url: "amqp://127.0.0.1" }),
    new SqsAdapter({ client: sqs }),
    new NatsAdapter({ url: "nats://127.0.0.1:4222" }),
  ];
  return {
    adapters,
    async close() {
      for (const adapter of adapters) await adapter.close();
      redis.disconnect();
      await pool.end();
      sqs.destroy();
    },
  };
}
