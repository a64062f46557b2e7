/**
 * Words seen, with a value each, found by the characters of a stretch of some text: a word met
 * before is found without building its string (building and hashing those was most of the
 * tokenizers' time). Open addressing over a power-of-two table, emptied when it fills: code's
 * words repeat, and the table holds the working set. The caller hashes the stretch as it scans
 * it (`hashChar`), folding case first when the table does.
 */
export class CharTable<V> {
  private keys: (string | undefined)[] = new Array<string | undefined>(1 << 16);
  private hashes = new Int32Array(1 << 16);
  private values: (V | undefined)[] = new Array<V | undefined>(1 << 16);
  private size = 0;

  /** With `foldCase`, words are kept in lower case and found in any case of ASCII letters. */
  constructor(private readonly foldCase: boolean) {}

  find(text: string, start: number, end: number, hash: number): V | undefined {
    const mask = this.keys.length - 1;
    const length = end - start;
    for (let i = hash & mask; ; i = (i + 1) & mask) {
      const key = this.keys[i];
      if (key === undefined) return undefined;
      if (this.hashes[i] === hash && key.length === length && this.same(key, text, start)) return this.values[i];
    }
  }

  insert(word: string, hash: number, value: V): void {
    if (this.size >= this.keys.length / 2) {
      if (this.keys.length >= 1 << 18) {
        this.keys.fill(undefined);
        this.values.fill(undefined);
        this.size = 0;
      } else this.grow();
    }
    const mask = this.keys.length - 1;
    let i = hash & mask;
    while (this.keys[i] !== undefined) i = (i + 1) & mask;
    this.keys[i] = word;
    this.hashes[i] = hash;
    this.values[i] = value;
    this.size++;
  }

  private same(word: string, text: string, start: number): boolean {
    if (!this.foldCase) {
      for (let j = 0; j < word.length; j++) if (word.charCodeAt(j) !== text.charCodeAt(start + j)) return false;
      return true;
    }
    for (let j = 0; j < word.length; j++) {
      const d = text.charCodeAt(start + j);
      if (word.charCodeAt(j) !== (d >= 0x41 && d <= 0x5a ? d | 0x20 : d)) return false;
    }
    return true;
  }

  /** Forgets every word and goes back to the first table's size. */
  clear(): void {
    this.keys = new Array<string | undefined>(1 << 16);
    this.hashes = new Int32Array(1 << 16);
    this.values = new Array<V | undefined>(1 << 16);
    this.size = 0;
  }

  private grow(): void {
    const { keys, hashes, values } = this;
    this.keys = new Array<string | undefined>(keys.length * 2);
    this.hashes = new Int32Array(keys.length * 2);
    this.values = new Array<V | undefined>(keys.length * 2);
    this.size = 0;
    keys.forEach((k, i) => k !== undefined && this.insert(k, hashes[i]!, values[i]!));
  }
}

/** FNV-1a over character codes: the hash `CharTable` expects, one character at a time from `HASH_START`. */
export const HASH_START = 0x811c9dc5;

export function hashChar(h: number, c: number): number {
  return Math.imul(h ^ c, 0x01000193);
}

/** The same hash over a whole string: stable across runs and platforms, unlike anything seeded. */
export function hashString(s: string): number {
  let h = HASH_START;
  for (let i = 0; i < s.length; i++) h = hashChar(h, s.charCodeAt(i));
  return h;
}
