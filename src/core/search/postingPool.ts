import { grown } from '../typedArrays';

/** Postings in a term's first block; each next block holds twice as many, up to the largest. */
const FIRST_BLOCK = 2;
const LARGEST_BLOCK = 1024;
/** A block is [capacity, offset of the next block or NONE, posting₀, posting₁, …]. */
const HEADER = 2;
const NONE = -1;
/** A posting is one int32: the chunk in the high bits, its term frequency (capped) in the low ones. */
const TF_BITS = 8;
/** The stored frequency of a term found this often or more: the caller looks up the exact count. */
export const SATURATED_TF = (1 << TF_BITS) - 1;
/**
 * Room a built or trimmed pool keeps beyond what it holds, as a share of that (1/16): the next
 * edits append there instead of copying the whole pool (at a million chunks, 250 MB and a second).
 */
const ROOM_SHIFT = 4;
/** Chunks a pool can number (doc ids stay below it, dead ones included until compaction). */
const MAX_DOCS = 2 ** (31 - TF_BITS);

/**
 * Every term's postings (chunk, term frequency) in one growing Int32Array, each term's as a chain
 * of blocks, one int32 a posting (a chunk rarely holds a term 255 times: half the memory of two).
 * A code base has hundreds of thousands of terms, most in a handful of chunks (node_modules:
 * 260,000, 186,000 of them in four or fewer): a pair of typed arrays per term was half a million
 * buffers for the garbage collector to trace and sweep at every full collection.
 */
export class PostingPool {
  private pool = new Int32Array(1 << 16);
  private used = 0;
  /** Per term: offset of its first and of its last block, postings in the last, postings in all. */
  private head = new Int32Array(1024);
  private tail = new Int32Array(1024);
  private tailUsed = new Int32Array(1024);
  private count = new Int32Array(1024);
  private terms = 0;

  /** Bytes held by the pool and its per-term offsets. */
  get memoryBytes(): number {
    return this.pool.byteLength + this.head.byteLength + this.tail.byteLength + this.tailUsed.byteLength + this.count.byteLength;
  }

  /** Gives back the room kept for growth (up to half of each array, as they grow by doubling) but a sixteenth. */
  trim(): void {
    const keep = this.used + (this.used >> ROOM_SHIFT);
    if (keep < this.pool.length) this.pool = this.pool.slice(0, keep);
    if (this.terms < this.head.length) {
      this.head = this.head.slice(0, this.terms);
      this.tail = this.tail.slice(0, this.terms);
      this.tailUsed = this.tailUsed.slice(0, this.terms);
      this.count = this.count.slice(0, this.terms);
    }
  }

  /**
   * A pool of `terms` terms holding each doc's entries (doc `d`: `termIds` / `freqs` from
   * `start[d]`, `count[d]` of them), in doc order as appending them would, each term's in one block
   * of exactly its size: counted first, then filled, with no block chains, no growth and no trim.
   */
  static fromDocs(terms: number, start: ArrayLike<number>, count: ArrayLike<number>, termIds: Int32Array, freqs: Uint16Array): PostingPool {
    const docs = start.length;
    if (docs > MAX_DOCS) throw new Error(`the keyword index holds at most ${MAX_DOCS.toLocaleString('en-US')} chunks`);
    const out = new PostingPool();
    out.terms = terms;
    out.head = new Int32Array(terms).fill(NONE);
    out.count = new Int32Array(terms);
    for (let d = 0; d < docs; d++) for (let i = start[d]!, end = i + count[d]!; i < end; i++) out.count[termIds[i]!]!++;
    let slots = 0;
    for (let t = 0; t < terms; t++) if (out.count[t]! > 0) slots += HEADER + out.count[t]!;
    out.pool = new Int32Array(slots + (slots >> ROOM_SHIFT));
    out.used = slots;
    for (let t = 0, at = 0; t < terms; t++) {
      const n = out.count[t]!;
      if (n === 0) continue;
      out.pool[at] = n;
      out.pool[at + 1] = NONE;
      out.head[t] = at;
      at += HEADER + n;
    }
    out.tail = out.head.slice();
    out.tailUsed = new Int32Array(terms);
    for (let d = 0; d < docs; d++) {
      for (let i = start[d]!, end = i + count[d]!; i < end; i++) {
        const t = termIds[i]!;
        out.pool[out.head[t]! + HEADER + out.tailUsed[t]!++] = (d << TF_BITS) | Math.min(freqs[i]!, SATURATED_TF);
      }
    }
    return out;
  }

  /** Adds a term without postings: terms are numbered 0, 1, … in the order they are added. */
  addTerm(): number {
    const id = this.terms++;
    if (id === this.head.length) {
      // A trimmed pool may have room for no term at all.
      const n = Math.max(1024, 2 * id);
      this.head = grown(this.head, n);
      this.tail = grown(this.tail, n);
      this.tailUsed = grown(this.tailUsed, n);
      this.count = grown(this.count, n);
    }
    this.head[id] = this.tail[id] = NONE;
    return id;
  }

  /** Appends a posting to the term's list. */
  append(term: number, doc: number, tf: number): void {
    if (doc >= MAX_DOCS) throw new Error(`the keyword index holds at most ${MAX_DOCS.toLocaleString('en-US')} chunks`);
    let block = this.tail[term]!;
    if (block === NONE || this.tailUsed[term] === this.pool[block]) {
      const capacity = block === NONE ? FIRST_BLOCK : Math.min(LARGEST_BLOCK, 2 * this.pool[block]!);
      const fresh = this.allocate(HEADER + capacity);
      this.pool[fresh] = capacity;
      this.pool[fresh + 1] = NONE;
      if (block === NONE) this.head[term] = fresh;
      else this.pool[block + 1] = fresh;
      this.tail[term] = block = fresh;
      this.tailUsed[term] = 0;
    }
    this.pool[block + HEADER + this.tailUsed[term]!++] = (doc << TF_BITS) | Math.min(tf, SATURATED_TF);
    this.count[term]!++;
  }

  /** Postings the term has. */
  length(term: number): number {
    return this.count[term]!;
  }

  /** Calls `visit` with each of the term's postings, in the order they were appended; `tf` is at most SATURATED_TF. */
  forEach(term: number, visit: (doc: number, tf: number) => void): void {
    const pool = this.pool;
    let left = this.count[term]!;
    for (let block = this.head[term]!; block !== NONE && left > 0; block = pool[block + 1]!) {
      const n = Math.min(left, pool[block]!);
      for (let i = 0, at = block + HEADER; i < n; i++, at++) visit(pool[at]! >> TF_BITS, pool[at]! & SATURATED_TF);
      left -= n;
    }
  }

  private allocate(slots: number): number {
    if (this.used + slots > this.pool.length) this.pool = grown(this.pool, Math.max(2 * this.pool.length, this.used + slots));
    const at = this.used;
    this.used += slots;
    return at;
  }
}
