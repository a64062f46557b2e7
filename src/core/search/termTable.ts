import { HASH_START, hashChar } from '../charTable';

const EMPTY = -1;

/**
 * The keyword index's terms, numbered 0, 1, … in the order they are added, found by their
 * characters anywhere in a text: opening an index looks up every shard's vocabulary, millions of
 * terms at a million chunks, in one string per shard without cutting a string for each (that and
 * a Map's hashing were a fifth of the open). Open addressing over a power-of-two table kept at most
 * half full; 8 bytes a slot beside the terms themselves, less than a Map entry.
 */
export class TermTable {
  private readonly terms: string[] = [];
  /** Per slot, the id of the term there or EMPTY, and that term's hash. */
  private ids = new Int32Array(1 << 10).fill(EMPTY);
  private hashes = new Int32Array(1 << 10);

  get size(): number {
    return this.terms.length;
  }

  /** Bytes of the table itself (the terms' strings are counted by the caller). */
  get memoryBytes(): number {
    return this.ids.byteLength + this.hashes.byteLength;
  }

  term(id: number): string {
    return this.terms[id]!;
  }

  /** The id of `term`, or undefined when it is not in the table. */
  get(term: string): number | undefined {
    const id = this.find(term, 0, term.length, hashOf(term, 0, term.length));
    return id === EMPTY ? undefined : id;
  }

  /** The id of `text[start, end)`, added when new: a new term's id is the size before it. */
  idOf(text: string, start = 0, end = text.length): number {
    const hash = hashOf(text, start, end);
    const id = this.find(text, start, end, hash);
    if (id !== EMPTY) return id;
    if (2 * (this.terms.length + 1) > this.ids.length) this.grow();
    const added = this.terms.push(start === 0 && end === text.length ? text : text.slice(start, end)) - 1;
    this.place(added, hash);
    return added;
  }

  private find(text: string, start: number, end: number, hash: number): number {
    const mask = this.ids.length - 1;
    const length = end - start;
    for (let i = hash & mask; ; i = (i + 1) & mask) {
      const id = this.ids[i]!;
      if (id === EMPTY) return EMPTY;
      if (this.hashes[i] !== hash) continue;
      const term = this.terms[id]!;
      if (term.length !== length) continue;
      let j = 0;
      while (j < length && term.charCodeAt(j) === text.charCodeAt(start + j)) j++;
      if (j === length) return id;
    }
  }

  private place(id: number, hash: number): void {
    const mask = this.ids.length - 1;
    let i = hash & mask;
    while (this.ids[i] !== EMPTY) i = (i + 1) & mask;
    this.ids[i] = id;
    this.hashes[i] = hash;
  }

  private grow(): void {
    const { ids, hashes } = this;
    this.ids = new Int32Array(2 * ids.length).fill(EMPTY);
    this.hashes = new Int32Array(2 * ids.length);
    for (let i = 0; i < ids.length; i++) if (ids[i] !== EMPTY) this.place(ids[i]!, hashes[i]!);
  }
}

function hashOf(text: string, start: number, end: number): number {
  let h = HASH_START;
  for (let i = start; i < end; i++) h = hashChar(h, text.charCodeAt(i));
  return h;
}
