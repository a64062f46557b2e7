/**
 * Which table row holds the vector of each chunk text (by hash), so that moved or copied code is
 * not embedded again and a keyword-only hit can still be scored by meaning. Several live chunks
 * may share a text (copies, or a file and its renamed twin during a run): while any of them is
 * live the hash maps to a live row, and only when the last one is retired does it map to that
 * retired row, readable until the row is recycled.
 */
export class RowsByHash {
  private readonly first = new Map<string, number>();
  /** The other live rows of a text several live chunks share; its `first` row is then live too. */
  private readonly others = new Map<string, number[]>();

  constructor(private readonly isLive: (row: number) => boolean) {}

  get(hash: string): number | undefined {
    return this.first.get(hash);
  }

  /** `row`, live, now holds `hash`. */
  added(hash: string, row: number): void {
    const held = this.first.get(hash);
    if (held === undefined || held === row || !this.isLive(held)) {
      this.first.set(hash, row);
      return;
    }
    const others = this.others.get(hash);
    if (others) others.push(row);
    else this.others.set(hash, [row]);
  }

  /** `row`, holding `hash`, left search: a live copy takes its place, if there is one. */
  retired(hash: string, row: number): void {
    const others = this.others.get(hash);
    if (!others) return;
    if (this.first.get(hash) === row) this.first.set(hash, others.pop()!);
    else {
      const at = others.indexOf(row);
      if (at >= 0) others.splice(at, 1);
    }
    if (others.length === 0) this.others.delete(hash);
  }

  /** `row`, retired, is about to be reused: its vector is no longer readable. */
  recycled(hash: string, row: number): void {
    if (this.first.get(hash) === row) this.first.delete(hash);
  }
}
