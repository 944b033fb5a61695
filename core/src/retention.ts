import { ValidationError } from "./errors.ts";

/** How long finished jobs are kept, in ms: for `getJob`, `wait()`, dead letters and inspection. */
export interface Retention {
  readonly succeededMs: number;
  readonly failedMs: number;
}

/**
 * Bounded by default, so Redis and PostgreSQL do not fill up: succeeded jobs for a day, failed ones
 * (the dead letters) for a week.
 */
export const DEFAULT_RETENTION: Retention = Object.freeze({ succeededMs: 86_400_000, failedMs: 7 * 86_400_000 });

/** Defaults completed with `given`, each a whole number of ms ≥ 1. */
export function resolveRetention(given: Partial<Retention> | undefined, where: string): Retention {
  const retention = { ...DEFAULT_RETENTION, ...given };
  for (const key of ["succeededMs", "failedMs"] as const) {
    const value = retention[key];
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new ValidationError("core", `${where}: retention.${key} must be a whole number of ms ≥ 1, got ${String(value)}.`);
    }
  }
  return Object.freeze(retention);
}
