import { Cron } from "croner";
import { ValidationError } from "../errors.ts";
import { encodeJson, type JsonValue } from "../json.ts";
import { type AnyTask, MAX_NAME_LENGTH, type Task } from "../task.ts";
import { parseEvery } from "./every.ts";

/** When a schedule ticks: a cron expression (5 or 6 fields), or a fixed interval. */
export type ScheduleTiming = string | { readonly every: number | string };

export interface ScheduleOptions {
  /** Stable name, unique among schedules: it is part of every tick's job id. Default: the task's name. */
  readonly name?: string;
  /** IANA time zone for cron expressions (`"Europe/Paris"`); DST is handled by the cron library. Default UTC. */
  readonly tz?: string;
  /**
   * Ticks missed while no worker ran, run when a worker starts again: at most this many, the most
   * recent ones. Default 0: missed ticks are skipped.
   */
  readonly catchUp?: number;
}

/**
 * A recurring job: a task, when it ticks, and the payload of each tick. Define it once, at module
 * level, and give it to every worker that may run it — each tick becomes one ordinary job, however
 * many workers run the schedule.
 */
export interface Schedule {
  readonly name: string;
  readonly task: AnyTask;
  readonly payload: JsonValue;
  readonly timing: ScheduleTiming;
  readonly tz: string | undefined;
  readonly catchUp: number;
  /** The first tick strictly after `time` (epoch ms); undefined when the schedule never ticks again. */
  nextAfter(time: number): number | undefined;
  /** Ticks in (`from`, `to`], oldest first, at most `limit` of the most recent. */
  between(from: number, to: number, limit: number): number[];
}

/**
 * Run `task` on a schedule:
 *
 * ```ts
 * export const nightly = schedule(buildReport, "0 3 * * *", { scope: "all" }, { tz: "Europe/Paris" });
 * export const heartbeat = schedule(ping, { every: "30s" });
 * await startWorker({ tasks: [buildReport, ping], schedules: [nightly, heartbeat] });
 * ```
 *
 * Cron expressions are parsed by croner. Intervals tick at whole multiples of the interval since
 * the epoch, so every process agrees on when a tick is.
 */
export function schedule<P, R>(task: Task<P, R>, timing: ScheduleTiming, payload?: P, options: ScheduleOptions = {}): Schedule {
  const name = options.name ?? task.name;
  const where = `schedule "${name}"`;
  if (typeof name !== "string" || name === "" || name.length > MAX_NAME_LENGTH) {
    throw new ValidationError("core", `${where}: the name must be 1–${MAX_NAME_LENGTH} characters.`);
  }
  const catchUp = options.catchUp ?? 0;
  if (!Number.isSafeInteger(catchUp) || catchUp < 0) throw new ValidationError("core", `${where}: catchUp must be a whole number ≥ 0.`);
  const json = (payload === undefined ? null : payload) as JsonValue;
  encodeJson("core", json, `payload of ${where}`);
  const ticks = typeof timing === "string" ? cronTicks(timing, options.tz, where) : intervalTicks(parseEvery(timing.every, where));
  return Object.freeze({ name, task, payload: json, timing, tz: options.tz, catchUp, ...ticks });
}

function cronTicks(pattern: string, tz: string | undefined, where: string): Pick<Schedule, "nextAfter" | "between"> {
  let cron: Cron;
  try {
    cron = new Cron(pattern, { paused: true, timezone: tz ?? "UTC" });
  } catch (error) {
    throw new ValidationError("core", `${where}: "${pattern}" is not a cron expression croner accepts: ${(error as Error).message}`);
  }
  const nextAfter = (time: number) => cron.nextRun(new Date(time))?.getTime();
  return {
    nextAfter,
    between(from, to, limit) {
      const out: number[] = [];
      for (let tick = nextAfter(from); tick !== undefined && tick <= to; tick = nextAfter(tick)) {
        out.push(tick);
        if (out.length > limit) out.shift();
      }
      return out;
    },
  };
}

function intervalTicks(every: number): Pick<Schedule, "nextAfter" | "between"> {
  const nextAfter = (time: number) => (Math.floor(time / every) + 1) * every;
  return {
    nextAfter,
    between(from, to, limit) {
      const out: number[] = [];
      for (let tick = Math.max(nextAfter(from), nextAfter(to - (limit + 1) * every)); tick <= to && limit > 0; tick += every)
        out.push(tick);
      return out.slice(-limit);
    },
  };
}
