import type { Statements } from "./statements.ts";

/** How long finished jobs stay in the file, in ms: succeeded and cancelled ones, and the dead letters. */
export interface FileRetention {
  readonly succeededMs: number;
  readonly failedMs: number;
}

/** Rows deleted per transaction, so that a sweep never holds the write lock for long. */
const SWEEP_BATCH = 2_000;

/** Delete finished jobs past their retention, in short write transactions; returns how many went. */
export async function sweep(
  retention: FileRetention,
  read: <T>(work: (s: Statements) => T) => Promise<T>,
  write: <T>(work: (s: Statements) => T) => Promise<T>,
): Promise<number> {
  const queues = await read((s) => (s.knownQueues.all() as { queue: string }[]).map((row) => row.queue));
  let deleted = 0;
  for (const queue of queues) {
    for (const [state, keepMs] of [
      ["succeeded", retention.succeededMs],
      ["cancelled", retention.succeededMs],
      ["failed", retention.failedMs],
    ] as const) {
      for (;;) {
        const gone = await write((s) => Number(s.sweepFinished.run(queue, state, Date.now() - keepMs, SWEEP_BATCH).changes));
        deleted += gone;
        if (gone < SWEEP_BATCH) break;
      }
    }
  }
  return deleted;
}
