/**
 * A binary min-heap of jobs by due time (then by sequence, so equal times keep their order).
 * One timer serves the whole heap: a million delayed jobs cost a million array slots, not a
 * million timers.
 */
export interface Due {
  readonly runAt: number;
  readonly seq: number;
}

export class DelayHeap<T extends Due> {
  readonly #items: T[] = [];

  get length(): number {
    return this.#items.length;
  }

  peek(): T | undefined {
    return this.#items[0];
  }

  push(item: T): void {
    const items = this.#items;
    items.push(item);
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(item, items[parent] as T)) break;
      items[i] = items[parent] as T;
      i = parent;
    }
    items[i] = item;
  }

  pop(): T | undefined {
    const items = this.#items;
    const top = items[0];
    const last = items.pop();
    if (items.length === 0 || last === undefined) return top;
    let i = 0;
    const n = items.length;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      const child = right < n && before(items[right] as T, items[left] as T) ? right : left;
      if (!before(items[child] as T, last)) break;
      items[i] = items[child] as T;
      i = child;
    }
    items[i] = last;
    return top;
  }
}

function before(a: Due, b: Due): boolean {
  return a.runAt < b.runAt || (a.runAt === b.runAt && a.seq < b.seq);
}
