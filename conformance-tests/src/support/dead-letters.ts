import type { Adapter, JobInfo } from "@taskport/core";
import { sleep } from "./waiting.ts";

/**
 * Read `queue`'s dead letters until `enough` holds of them or `timeoutMs` passes, and return the
 * last read: an engine may store a letter just after the worker's `failed` event.
 */
export async function readDeadLetters(
  adapter: Adapter | undefined,
  queue: string,
  enough: (letters: JobInfo[]) => boolean,
  timeoutMs: number,
): Promise<JobInfo[]> {
  let letters: JobInfo[] = [];
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    letters = (await adapter?.listDeadLetters?.(queue, 10)) ?? [];
    if (enough(letters)) break;
    await sleep(50);
  }
  return letters;
}
