/**
 * What each of taskport's job options costs BullMQ itself: plain BullMQ against plain BullMQ, the
 * same jobs added without options and with one option, side by side. No taskport code runs here;
 * the ratio is the price BullMQ asks for a feature taskport needs:
 * - `jobId`: a job's own id (taskport's ids are its own, so that an enqueue can be repeated safely
 *   and a job found by id on any engine); BullMQ checks the id and whether a job holds it already.
 * - `priority`: every taskport job is prioritized, so that priorities above the default order
 *   correctly; BullMQ keeps such jobs in a sorted set rather than its wait list.
 * - `timestamp`: the enqueue time core set, so that a job handed over later (an outbox relay) runs
 *   at the time asked.
 * - `removeOnComplete`/`removeOnFail` ages: the backend's retention, so that Redis does not fill up.
 */
import { type JobsOptions, Queue } from "bullmq";
import type { Scenario } from "../harness.ts";
import { timedRate } from "../harness.ts";
import { sameOptions } from "./bullmq.ts";

export const title = "BullMQ 6 alone: jobs added without options and with taskport's, one option at a time";
export const arms = ["no options", "with the option"] as const;

const CONNECTION = { host: process.env.TASKPORT_REDIS_HOST ?? "127.0.0.1", port: Number(process.env.TASKPORT_REDIS_PORT ?? 6379) };
const PREFIX = "tpbench";
const BULK = Number(process.env.BENCH_BULLMQ_BULK ?? 30_000);
const SEQUENTIAL = Number(process.env.BENCH_BULLMQ_SEQUENTIAL ?? 3_000);
const CHUNK = 1_000;
let seq = 0;

type Options = () => JobsOptions | undefined;

/** Jobs per second adding `count` jobs with `options()` each, to a queue of its own dropped afterwards. */
async function addRate(bulk: boolean, options: Options): Promise<number> {
  const queue = new Queue(`bench-options-${process.pid}-${++seq}`, { prefix: PREFIX, connection: CONNECTION });
  queue.on("error", () => {});
  await queue.add("noop", { i: -1 }); // connects, as an app's first add does
  const count = bulk ? BULK : SEQUENTIAL;
  const rate = await timedRate(count, async () => {
    if (!bulk) {
      for (let i = 0; i < count; i++) await queue.add("noop", { i }, options());
      return;
    }
    for (let i = 0; i < count; i += CHUNK) {
      await queue.addBulk(
        Array.from({ length: Math.min(CHUNK, count - i) }, (_, j) => ({ name: "noop", data: { i: i + j }, opts: options() })),
      );
    }
  });
  await queue.obliterate({ force: true });
  await queue.close();
  return rate;
}

/** One of taskport's options alone, picked from all of them. */
function only(key: string): Options {
  return () => ({ [key]: (sameOptions() as Record<string, unknown>)[key] }) as JobsOptions;
}

export function scenarios(): Scenario[] {
  const n = (x: number) => x.toLocaleString("en-US");
  const none: Options = () => undefined;
  const scenario = (name: string, bulk: boolean, options: Options): Scenario => ({
    name: `${bulk ? `addBulk by ${n(CHUNK)} (${n(BULK)})` : `add (${n(SEQUENTIAL)})`}: ${name}`,
    unit: "jobs/s",
    higherIsBetter: true,
    taskport: () => addRate(bulk, options),
    raw: () => addRate(bulk, none),
  });
  return [
    scenario("jobId (a custom id)", true, only("jobId")),
    scenario("priority", true, only("priority")),
    scenario("timestamp", true, only("timestamp")),
    scenario("removeOnComplete and removeOnFail ages", true, () => {
      const { removeOnComplete, removeOnFail } = sameOptions();
      return { removeOnComplete, removeOnFail };
    }),
    scenario("all of taskport's options", true, () => sameOptions()),
    scenario("all of taskport's options", false, () => sameOptions()),
  ];
}
