import { appendFileSync, existsSync, readFileSync } from "node:fs";

/**
 * The soak's ledger: one line per event, appended by the producer and the worker processes with
 * one write each, so a SIGKILL loses no line that was written. It is kept outside the engine: the
 * engine's own counts are what is under test.
 *   enq <i>                    the producer's enqueue of job i resolved
 *   start <i> <attempt> <ms>   a worker started job i, ms after its enqueue
 *   done <i>                   a worker finished job i's work (before the engine hears of it)
 *   rss <role> <bytes>         a worker's resident set size, every few seconds
 */
export function record(ledger: string, line: string): void {
  appendFileSync(ledger, `${line}\n`);
}

export interface Tally {
  readonly enqueued: Set<number>;
  /** Job → how many times its work finished. */
  readonly done: Map<number, number>;
  /** Enqueue-to-start of each job's first start. */
  readonly firstStartMs: Map<number, number>;
  /** The steady worker's RSS readings, in order. */
  readonly steadyRss: number[];
}

export function tally(ledger: string): Tally {
  const result: Tally = { enqueued: new Set(), done: new Map(), firstStartMs: new Map(), steadyRss: [] };
  if (!existsSync(ledger)) return result;
  for (const line of readFileSync(ledger, "utf8").split("\n")) {
    const [kind, a, b, c] = line.split(" ");
    if (kind === "enq") result.enqueued.add(Number(a));
    else if (kind === "done") result.done.set(Number(a), (result.done.get(Number(a)) ?? 0) + 1);
    else if (kind === "start" && !result.firstStartMs.has(Number(a))) result.firstStartMs.set(Number(a), Number(c));
    else if (kind === "rss" && a === "steady") result.steadyRss.push(Number(b));
  }
  return result;
}
