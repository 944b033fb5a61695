import { CliError } from "./cli-error.ts";

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** `30`, `30s`, `500ms`, `5m`, `1h` → milliseconds. A bare number is seconds, as in most worker CLIs. */
export function parseDuration(text: string, option: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!match) throw new CliError(`${option} must be a duration such as 30, 30s, 500ms or 5m, got "${text}".`);
  return Math.round(Number(match[1]) * (UNITS[match[2] ?? "s"] as number));
}

export function parseInteger(text: string, option: string, min: number): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < min) throw new CliError(`${option} must be a whole number ≥ ${min}, got "${text}".`);
  return value;
}

export function parseList(text: string): string[] {
  return text
    .split(",")
    .map((item) => item.trim())
    .filter((item) => item.length > 0);
}
