/**
 * What the Redis job store costs: RabbitMQ and SQS through taskport, alone and with the store beside
 * them, side by side in one run (the scenarios: ../store-comparison.ts). The store writes under a key
 * prefix of its own, whose keys are deleted between rounds (as the PostgreSQL bench truncates its
 * table) and at the end. `TASKPORT_BENCH_REDIS_URL` points it at another Redis, e.g. one that no
 * other work shares, since each of the store's round trips waits behind whatever else Redis does.
 */
import { RedisStore } from "@taskport/redis-store";
import type { Scenario } from "../harness.ts";
import { closeStoreBench, storeScenarios } from "../store-comparison.ts";

export const title = "RabbitMQ and SQS end to end, alone and with the Redis job store beside them";
export const arms = ["engine alone", "+ redis store"] as const;

const REDIS_URL = process.env.TASKPORT_BENCH_REDIS_URL ?? "redis://127.0.0.1:6379/0";
const PREFIX = `tpbench-store-${process.pid}`;

async function deleteKeys(): Promise<void> {
  const store = new RedisStore({ url: REDIS_URL, prefix: PREFIX });
  await store.destroy();
  await store.close();
}

export function scenarios(): Scenario[] {
  return storeScenarios({
    create: () => new RedisStore({ url: REDIS_URL, prefix: PREFIX }),
    empty: deleteKeys,
    drop: deleteKeys,
  });
}

export const teardown = closeStoreBench;
