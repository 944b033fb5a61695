import { ValidationError } from "../errors.ts";

const UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** An interval as ms: a number of ms, or text such as `"30s"`, `"5m"`, `"1h"`, `"1d"`. */
export function parseEvery(every: number | string, where: string): number {
  const ms = typeof every === "number" ? every : fromText(every);
  if (!Number.isSafeInteger(ms) || ms < 100) {
    throw new ValidationError(
      "core",
      `${where}: every must be a whole number of ms ≥ 100, or text such as "30s", "5m", "1h"; got ${JSON.stringify(every)}.`,
    );
  }
  return ms;
}

function fromText(text: string): number {
  const match = /^\s*(\d+)\s*(ms|s|m|h|d)\s*$/.exec(text);
  if (!match) return Number.NaN;
  return Number(match[1]) * (UNITS[match[2] as string] as number);
}
