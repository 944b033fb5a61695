/** Waiting with deadlines: tests wait for events, never for fixed sleeps, and fail with a message. */

/** Wait until `condition` holds; an async condition (a server round trip) is polled less often. */
export async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const result = condition();
    const async = typeof result !== "boolean";
    if (async ? await result : result) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(async ? 50 : 5);
  }
}

/** A deliberate pause, only to show that something does NOT happen within it. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Collects items pushed from handlers or events; `until` waits for a count. */
export class Recorder<T> {
  readonly items: T[] = [];

  push(item: T): void {
    this.items.push(item);
  }

  get length(): number {
    return this.items.length;
  }

  async until(count: number, timeoutMs: number, what = "items"): Promise<T[]> {
    await waitFor(() => this.items.length >= count, timeoutMs, `${count} ${what} (have ${this.items.length})`);
    return this.items;
  }
}

/** A promise with its resolve exposed: lets a test hold a handler until it says so. */
export function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}
