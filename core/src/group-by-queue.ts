/**
 * The positions of a batch's jobs, grouped by queue in order of first appearance: engines store a
 * batch one queue at a time, and each receipt must go back to its job's position.
 */
export function indexesByQueue(jobs: readonly { readonly queue: string }[]): Map<string, number[]> {
  const byQueue = new Map<string, number[]>();
  for (let i = 0; i < jobs.length; i++) {
    const queue = (jobs[i] as { readonly queue: string }).queue;
    const list = byQueue.get(queue);
    if (list) list.push(i);
    else byQueue.set(queue, [i]);
  }
  return byQueue;
}
