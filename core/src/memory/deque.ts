/** Items per block: small enough that a new block is young and cheap, large enough to be rare. */
const BLOCK = 1024;

/** One fixed-size block of a {@link Deque}; `next` links towards the tail. */
class Block<T> {
  readonly items: (T | undefined)[] = new Array(BLOCK);
  next: Block<T> | undefined = undefined;
}

/**
 * A FIFO queue with O(1) push, shift and unshift: a chain of fixed-size blocks. Unlike one array
 * with a moving head, nothing is ever copied as it grows or drains, and a backlog of a million jobs
 * is not one huge array in the old generation that every young job stored in it must be recorded
 * against (that array was a tenth of the engine's time with a large backlog).
 */
export class Deque<T> {
  #head: Block<T> = new Block();
  #tail: Block<T> = this.#head;
  /** Index of the first item in `#head`. */
  #start = 0;
  /** Index past the last item in `#tail`. */
  #end = 0;
  #length = 0;

  get length(): number {
    return this.#length;
  }

  push(item: T): void {
    if (this.#end === BLOCK) {
      const block = new Block<T>();
      this.#tail.next = block;
      this.#tail = block;
      this.#end = 0;
    }
    this.#tail.items[this.#end++] = item;
    this.#length++;
  }

  unshift(item: T): void {
    if (this.#start === 0) {
      if (this.#length === 0) {
        // Empty: reuse the block from its end, so pushes after this still fit behind it.
        this.#start = this.#end = BLOCK;
      } else {
        const block = new Block<T>();
        block.next = this.#head;
        this.#head = block;
        this.#start = BLOCK;
      }
    }
    this.#head.items[--this.#start] = item;
    this.#length++;
  }

  /** The first item, left in place. */
  peek(): T | undefined {
    return this.#length === 0 ? undefined : this.#head.items[this.#start];
  }

  shift(): T | undefined {
    if (this.#length === 0) return undefined;
    const head = this.#head;
    const item = head.items[this.#start];
    head.items[this.#start++] = undefined;
    this.#length--;
    if (this.#length === 0) {
      // Empty: start over at the front of the block in hand, whatever came before.
      this.#head = this.#tail = head;
      head.next = undefined;
      this.#start = this.#end = 0;
    } else if (this.#start === BLOCK) {
      this.#head = head.next as Block<T>;
      this.#start = 0;
    }
    return item;
  }
}
