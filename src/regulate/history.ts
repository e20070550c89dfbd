/** A bounded ring of the latest records: the gear history costs a fixed amount of memory however long the process runs. */
export class Ring<T> {
  private readonly items: (T | undefined)[];
  private next = 0;
  private size = 0;
  constructor(readonly capacity: number) {
    this.items = new Array<T | undefined>(capacity);
  }
  push(item: T): void {
    if (this.capacity === 0) return;
    this.items[this.next] = item;
    this.next = (this.next + 1) % this.capacity;
    this.size = Math.min(this.size + 1, this.capacity);
  }
  /** Oldest first. */
  toArray(): T[] {
    const out: T[] = [];
    for (let i = 0; i < this.size; i++) out.push(this.items[(this.next - this.size + i + this.capacity) % this.capacity]!);
    return out;
  }
  get length(): number {
    return this.size;
  }
}
