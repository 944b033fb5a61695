/**
 * What the PostgreSQL job store costs: RabbitMQ and SQS through taskport, alone and with the store
 * beside them, side by side in one run (the scenarios: ../store-comparison.ts). The store lives in a
 * schema of its own, truncated between rounds so that each round starts from the same table, and
 * dropped at the end.
 */
import { PostgresStore } from "@taskport/postgres-store";
import pg from "pg";
import type { Scenario } from "../harness.ts";
import { closeStoreBench, storeScenarios } from "../store-comparison.ts";

export const title = "RabbitMQ and SQS end to end, alone and with the PostgreSQL job store beside them";
export const arms = ["engine alone", "+ postgres store"] as const;

const PG_URL = process.env.TASKPORT_PG_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const SCHEMA = "taskport_bench_store";

async function sql(text: string): Promise<void> {
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  await client.query(text);
  await client.end();
}

export function scenarios(): Scenario[] {
  return storeScenarios({
    create: () => new PostgresStore({ url: PG_URL, schema: SCHEMA }),
    empty: () => sql(`TRUNCATE "${SCHEMA}".jobs`),
    drop: () => sql(`DROP SCHEMA IF EXISTS "${SCHEMA}" CASCADE`),
  });
}

export const teardown = closeStoreBench;
