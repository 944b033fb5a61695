/**
 * Run `work` over `items` in rounds in which no id appears twice, in order: one upsert or update
 * may touch a row only once, and a job delivered or settled twice in one batch must be written
 * twice, the second time over the first. Almost every batch is a single round.
 */
export async function inRounds<T>(items: readonly T[], idOf: (item: T) => string, work: (round: T[]) => Promise<void>): Promise<void> {
  let rest = items;
  while (rest.length > 0) {
    const seen = new Set<string>();
    const round: T[] = [];
    const later: T[] = [];
    for (const item of rest) {
      const id = idOf(item);
      if (seen.has(id)) later.push(item);
      else {
        seen.add(id);
        round.push(item);
      }
    }
    await work(round);
    rest = later;
  }
}
