// The queue's waiting jobs, first in first out. An array read from a head index and compacted now and
// then: `shift()` is O(n) on a long array, and a backlog holds up to `maxQueue` jobs.

export class JobLine<T> {
  private items: Array<T | undefined> = [];
  private head = 0;

  /** How many wait. */
  get size(): number {
    return this.items.length - this.head;
  }

  push(item: T): void {
    this.items.push(item);
  }

  /** The first waiting item, taken out of the line; undefined when none waits. */
  take(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head];
    this.items[this.head++] = undefined;
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head >= 4096 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }
}
