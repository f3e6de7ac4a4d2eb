// The waiting line of the dynamic batcher: one FIFO per priority level, levels kept in order as
// they appear (a binary insertion when a new level shows up), so a dispatch walks them without
// sorting. Level 1 is the highest priority.

export class PriorityQueue<T> {
  private readonly fifos = new Map<number, T[]>();
  /** Levels present, highest priority (lowest number) first. */
  private readonly order: number[] = [];
  private count = 0;

  get size(): number {
    return this.count;
  }

  push(level: number, item: T): void {
    let fifo = this.fifos.get(level);
    if (fifo === undefined) {
      fifo = [];
      this.fifos.set(level, fifo);
      this.order.splice(insertionPoint(this.order, level), 0, level);
    }
    fifo.push(item);
    this.count++;
  }

  /** The first item of the highest level, taken out. */
  shift(): T | undefined {
    const level = this.order[0];
    if (level === undefined) return undefined;
    const fifo = this.fifos.get(level);
    const item = fifo?.shift();
    if (fifo !== undefined && fifo.length === 0) this.dropLevel(level);
    if (item !== undefined) this.count--;
    return item;
  }

  /** Takes one item out wherever it waits; false when it is not queued. */
  remove(level: number, item: T): boolean {
    const fifo = this.fifos.get(level);
    const i = fifo === undefined ? -1 : fifo.indexOf(item);
    if (fifo === undefined || i < 0) return false;
    fifo.splice(i, 1);
    if (fifo.length === 0) this.dropLevel(level);
    this.count--;
    return true;
  }

  /** Every item in priority, then arrival, order. */
  *[Symbol.iterator](): IterableIterator<T> {
    for (const level of this.order) yield* this.fifos.get(level) ?? [];
  }

  private dropLevel(level: number): void {
    this.fifos.delete(level);
    const at = this.order.indexOf(level);
    if (at >= 0) this.order.splice(at, 1);
  }
}

function insertionPoint(sorted: readonly number[], value: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((sorted[mid] ?? 0) < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
