import type { Backend } from "../backends/backend.ts";
import { UnsupportedFeatureError } from "../errors.ts";
import type { Schedule } from "./schedule.ts";
import { tickJobId, tickKey } from "./tick-id.ts";

/** How far ahead of a tick its job is enqueued, at most: every worker's enqueue must land before the tick. */
const MAX_LEAD_MS = 5_000;
/** A tick closer than this is left to workers that saw it coming: its job may be starting already. */
const MARGIN_MS = 100;
/** How far back `catchUp` looks for missed ticks. */
const CATCH_UP_WINDOW_MS = 7 * 86_400_000;

/**
 * Turns a worker's schedules into jobs. Each tick is enqueued ahead of time as a delayed job whose
 * deduplication key names the tick, by every worker that runs the schedule: the engine (or the job
 * store) keeps one, since the key is held from the first enqueue until the job has finished, and
 * every enqueue of a tick happens before the tick. No leader, no state in memory: a worker that
 * dies is simply not among those that enqueue the next tick.
 */
export class Scheduler {
  readonly #schedules: readonly Schedule[];
  readonly #backend: Backend;
  readonly #onError: (error: Error) => void;
  readonly #timers = new Set<NodeJS.Timeout>();
  #stopped = false;

  constructor(schedules: readonly Schedule[], backend: Backend, onError: (error: Error) => void) {
    this.#schedules = schedules;
    this.#backend = backend;
    this.#onError = onError;
  }

  async start(): Promise<void> {
    const adapter = await this.#backend.adapter();
    const caps = adapter.capabilities;
    if (this.#schedules.length === 0) return;
    if (!caps.delay || !caps.deduplication) {
      throw new UnsupportedFeatureError(
        adapter.name,
        "schedules",
        "Schedules need delays and deduplication to run each tick once however many workers run them: configure a job store beside the engine (store: …).",
      );
    }
    const names = new Set<string>();
    for (const schedule of this.#schedules) {
      if (names.has(schedule.name))
        throw new UnsupportedFeatureError(
          "core",
          `two schedules named "${schedule.name}"`,
          "Give each a name: schedule(task, when, payload, { name }).",
        );
      names.add(schedule.name);
    }
    const now = Date.now();
    for (const schedule of this.#schedules) {
      if (schedule.catchUp > 0) await this.#catchUp(schedule, now, caps.results);
      this.#arm(schedule, now);
    }
  }

  stop(): void {
    this.#stopped = true;
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
  }

  /** Wait for the next tick that can still be enqueued ahead of time, and enqueue it then. */
  #arm(schedule: Schedule, after: number): void {
    if (this.#stopped) return;
    const now = Date.now();
    let tick = schedule.nextAfter(Math.max(after, now - 1));
    while (tick !== undefined && tick - now < MARGIN_MS) tick = schedule.nextAfter(tick);
    if (tick === undefined) return;
    const following = schedule.nextAfter(tick);
    const lead = Math.min(MAX_LEAD_MS, following === undefined ? MAX_LEAD_MS : Math.max(MARGIN_MS * 2, (following - tick) / 2));
    const at = tick;
    const timer = setTimeout(
      () => {
        this.#timers.delete(timer);
        if (this.#stopped) return;
        // A stalled event loop may wake us too late: then the tick is left to the other workers.
        if (at - Date.now() >= MARGIN_MS) void this.#enqueue(schedule, at, at);
        this.#arm(schedule, at);
      },
      Math.max(0, at - lead - now),
    );
    this.#timers.add(timer);
  }

  async #enqueue(schedule: Schedule, tickAt: number, runAt: number | undefined): Promise<void> {
    try {
      const options = runAt === undefined ? {} : { runAt };
      await this.#backend.enqueue(schedule.task, [schedule.payload], { ...options, deduplicationKey: tickKey(schedule.name, tickAt) }, [
        tickJobId(schedule.name, tickAt),
      ]);
    } catch (error) {
      this.#onError(error as Error);
    }
  }

  /**
   * Run missed ticks now, the most recent `catchUp` of them. Where the engine keeps jobs, a tick
   * that already ran (its job exists) is not run again.
   */
  async #catchUp(schedule: Schedule, now: number, canLookUp: boolean): Promise<void> {
    for (const tick of schedule.between(now - CATCH_UP_WINDOW_MS, now, schedule.catchUp)) {
      if (canLookUp) {
        const known = await this.#backend
          .getJob(tickJobId(schedule.name, tick), schedule.task.defaults.queue ?? schedule.task.options.queue ?? "default")
          .catch(() => null);
        if (known) continue;
      }
      await this.#enqueue(schedule, tick, undefined);
    }
  }
}
