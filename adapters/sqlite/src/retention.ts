import type { Statements } from "./statements.ts";

/** Rows deleted per transaction, so that a sweep never holds the write lock for long. */
const SWEEP_BATCH = 2_000;

/**
 * Delete the finished jobs past their retention (`expires_at`), in short write transactions; a look
 * that finds none takes no write lock. Returns how many went.
 */
export async function sweep(
  read: <T>(work: (s: Statements) => T) => Promise<T>,
  write: <T>(work: (s: Statements) => T) => Promise<T>,
): Promise<number> {
  let deleted = 0;
  while (await read((s) => s.anyExpiredRow.get(Date.now()) !== undefined)) {
    const gone = await write((s) => Number(s.sweepExpired.run(Date.now(), SWEEP_BATCH).changes));
    deleted += gone;
    if (gone < SWEEP_BATCH) break;
  }
  return deleted;
}
