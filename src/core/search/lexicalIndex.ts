import type { StoredChunk } from '../store/records';
import { byPlace, KthLargest } from '../store/vectorTable';
import { grown } from '../typedArrays';
import { codeTerms, fileTerms, languagesNamedBy, OWN_LANGUAGE_WEIGHT, queryTerms, type FileTerms } from './codeTokens';
import { PostingPool, SATURATED_TF } from './postingPool';
import { TermTable } from './termTable';

export interface LexicalHit {
  chunk: StoredChunk;
  score: number;
  /** The query terms this chunk contains, for explaining the hit. */
  matched: string[];
}

// A symbol names what a chunk is and a path where it lives: a word there counts for more than in the body.
const SYMBOL_WEIGHT = 3;
const PATH_WEIGHT = 2;
// BM25's saturation and length normalisation, chosen on the dev splits (scripts/tune-fusion.ts with
// a grid of both): a chunk's length counts in full (a long chunk that holds a word once says less
// about it than a short one) and repeats saturate early. Against the textbook 1.2 / 0.75, hybrid
// rose on all four dev suites (mean 0.596 -> 0.603 with 100 fusion candidates).
const K1 = 0.8;
const B = 1;
const MAX_QUERY_TERMS = 32;

/** A term's string header and its slot in the terms array, in V8 (approximate). */
const VOCABULARY_ENTRY_OVERHEAD = 32;

/**
 * BM25 over chunks, kept in memory beside the vector table and updated file by file. Postings are
 * in one pool (`PostingPool`); a removed chunk is only marked dead, and postings are rebuilt once
 * dead chunks make up a quarter of the index.
 */
export class LexicalIndex {
  private readonly terms = new TermTable();
  /** Per numbering of terms (see `FileTerms.numbered`), this index's term id for each number, -1 if not yet known. */
  private readonly byNumber = new WeakMap<object, Int32Array>();
  private postings = new PostingPool();
  private docFreq: number[] = [];
  private docs: (StoredChunk | undefined)[] = [];
  private docLength: number[] = [];
  /** Each doc's terms and their frequencies, docs side by side in two flat arrays (two typed arrays per chunk cost more than the data). */
  private docTermStart: number[] = [];
  private docTermCount: number[] = [];
  private flatTerms = new Int32Array(1 << 12);
  private flatFreqs = new Uint16Array(1 << 12);
  private flatLength = 0;
  private readonly byPath = new Map<string, number[]>();
  /** Per term id, 1 + its place among the terms of the chunk being added (0 otherwise): no map per chunk. */
  private slot = new Int32Array(1024);
  /** The distinct terms of the chunk being added and their frequencies, `chunkTerms` of them: reused, not two arrays per chunk. */
  private scratchTerms = new Int32Array(1024);
  private scratchFreqs = new Uint16Array(1024);
  private chunkTerms = 0;
  /** Per doc, its BM25 score and matched query terms during a search (zero between searches). */
  private scores = new Float64Array(0);
  private matchedBits = new Uint32Array(0);
  private alive = 0;
  /** Bumped by every change, so that `lastScored` is not used after one. */
  private version = 0;
  private lastScored: ScoredDocs | undefined;
  private totalLength = 0;
  /** True while chunks are added without postings, which `buildPostings` then makes in one pass. */
  private postingsDeferred = false;

  get chunkCount(): number {
    return this.alive;
  }

  /**
   * Bytes held: `arrays` exactly (postings, per-chunk term lists, scratch; number arrays at 8 bytes
   * an entry), `vocabulary` estimated (each term's string, plus the table that finds them).
   */
  get memory(): { arrays: number; vocabulary: number } {
    const typed = [this.flatTerms, this.flatFreqs, this.slot, this.scratchTerms, this.scratchFreqs, this.scores, this.matchedBits].reduce((n, a) => n + a.byteLength, 0);
    const numbers = 8 * (this.docFreq.length + this.docLength.length + this.docTermStart.length + this.docTermCount.length);
    let vocabulary = this.terms.memoryBytes;
    for (let id = 0; id < this.terms.size; id++) vocabulary += 2 * this.terms.term(id).length + VOCABULARY_ENTRY_OVERHEAD;
    return { arrays: this.postings.memoryBytes + typed + numbers, vocabulary };
  }

  paths(): IterableIterator<string> {
    return this.byPath.keys();
  }

  /**
   * Replaces everything known about `path` with `chunks`, given the texts they were cut from or
   * those texts' terms already worked out (`fileTerms`, on the parsing thread). Symbol and path
   * terms are weighted up here.
   */
  putFile(path: string, chunks: readonly StoredChunk[], content: readonly string[] | FileTerms): void {
    const terms = isFileTerms(content) ? content : fileTerms(content);
    if (terms.offsets.length !== chunks.length + 1) throw new Error(`putFile(${path}): ${chunks.length} chunks but terms for ${terms.offsets.length - 1}`);
    const global = this.vocabularyIds(terms);
    const pathTerms = codeTerms(path).map((t) => this.termId(t));
    this.replaceFile(path, chunks, (c) => {
      let length = 0;
      for (let i = terms.offsets[c]!, end = terms.offsets[c + 1]!; i < end; i++) length += this.addTerm(global[terms.ids[i]!]!, terms.counts[i]!);
      const symbol = chunks[c]!.symbol;
      if (symbol) for (const t of codeTerms(symbol)) length += this.addTerm(this.termId(t), SYMBOL_WEIGHT);
      for (const id of pathTerms) length += this.addTerm(id, PATH_WEIGHT);
      return length;
    });
  }

  /**
   * Puts back a file's entries as `entriesOf` gave them (weights included): `ids` are places in a
   * vocabulary whose ids `termIdsOf` returned, chunk `c`'s entries `offsets[c]` .. `offsets[c + 1] - 1`.
   */
  putEntries(path: string, chunks: readonly StoredChunk[], offsets: ArrayLike<number>, ids: ArrayLike<number>, counts: ArrayLike<number>, vocabularyIds: Int32Array): void {
    if (offsets.length !== chunks.length + 1) throw new Error(`putEntries(${path}): ${chunks.length} chunks but entries for ${offsets.length - 1}`);
    this.replaceFile(path, chunks, (c) => {
      // A chunk's entries are distinct terms already (they were its own): straight into the scratch arrays.
      const from = offsets[c]!;
      const n = offsets[c + 1]! - from;
      if (n > this.scratchTerms.length) {
        this.scratchTerms = new Int32Array(n);
        this.scratchFreqs = new Uint16Array(n);
      }
      let length = 0;
      for (let i = 0; i < n; i++) {
        this.scratchTerms[i] = vocabularyIds[ids[from + i]!]!;
        length += this.scratchFreqs[i] = counts[from + i]!;
      }
      this.chunkTerms = n;
      return length;
    });
  }

  /** This index's id of each of the `count` terms of `vocabulary` (joined by "\n"; added when new): for `putEntries`. */
  termIdsOf(vocabulary: string, count: number): Int32Array {
    const out = new Int32Array(count);
    for (let i = 0, start = 0; i < count; i++) {
      const end = i === count - 1 ? vocabulary.length : vocabulary.indexOf('\n', start);
      out[i] = this.termId(vocabulary, start, end);
      start = end + 1;
    }
    return out;
  }

  /** True when `path` has entries (possibly none per chunk) in this index. */
  hasFile(path: string): boolean {
    return this.byPath.has(path);
  }

  /**
   * Calls `each` with every chunk's entries of `path`, in chunk order: term ids (see `term`) and
   * their weighted counts, views valid only during the call.
   */
  entriesOf(path: string, each: (ids: Int32Array, counts: Uint16Array) => void): void {
    for (const doc of this.byPath.get(path) ?? []) {
      const from = this.docTermStart[doc]!;
      const to = from + this.docTermCount[doc]!;
      each(this.flatTerms.subarray(from, to), this.flatFreqs.subarray(from, to));
    }
  }

  term(id: number): string {
    return this.terms.term(id);
  }

  /** Adds one doc per chunk, each counted by `count(c)` into the scratch arrays (which returns its length). */
  private replaceFile(path: string, chunks: readonly StoredChunk[], count: (c: number) => number): void {
    this.removeFile(path);
    this.version++;
    const ids: number[] = [];
    chunks.forEach((chunk, c) => {
      this.chunkTerms = 0;
      const length = count(c);
      const n = this.chunkTerms;
      const termIds = this.scratchTerms.subarray(0, n);
      const freqs = this.scratchFreqs.subarray(0, n);
      for (const id of termIds) this.slot[id] = 0;
      const doc = this.docs.length;
      this.docs.push(chunk);
      this.docLength.push(length);
      this.pushTerms(termIds, freqs);
      for (let i = 0; i < n; i++) {
        if (!this.postingsDeferred) this.postings.append(termIds[i]!, doc, freqs[i]!);
        this.docFreq[termIds[i]!]!++;
      }
      this.alive++;
      this.totalLength += length;
      ids.push(doc);
    });
    this.byPath.set(path, ids);
  }

  removeFile(path: string): void {
    const ids = this.byPath.get(path);
    if (!ids) return;
    this.version++;
    this.byPath.delete(path);
    for (const doc of ids) {
      for (let i = this.docTermStart[doc]!, end = i + this.docTermCount[doc]!; i < end; i++) this.docFreq[this.flatTerms[i]!]!--;
      this.docs[doc] = undefined;
      this.alive--;
      this.totalLength -= this.docLength[doc]!;
    }
    const dead = this.docs.length - this.alive;
    if (dead > 1000 && dead * 4 > this.docs.length) this.compact();
  }

  /** The `k` best chunks for `query` by BM25, among those `accept` lets through. */
  search(query: string, k: number, accept?: (c: StoredChunk) => boolean): LexicalHit[] {
    const terms = queryTerms(query).filter((t) => this.terms.get(t) !== undefined).slice(0, MAX_QUERY_TERMS);
    if (terms.length === 0 || this.alive === 0 || k <= 0) return [];
    const found = this.scored(terms);
    const n = found.docs.length;
    // Ties go by place, not by when a chunk was added: a rebuilt index ranks as the one it replaced.
    const order = (a: number, b: number) => found.scores[b]! - found.scores[a]! || byPlace(this.docs[found.docs[a]!]!, this.docs[found.docs[b]!]!);
    // Only the chunks that can make the top are sorted: those scoring at least the `want`-th best
    // (ties included, so the order is the full sort's); more are taken if `accept` turns too many away.
    for (let want = 4 * k + 16; ; want *= 4) {
      let threshold = -Infinity;
      if (n > want) {
        const floor = new KthLargest(want);
        for (const score of found.scores) floor.offer(score);
        threshold = floor.value;
      }
      const picked: number[] = [];
      for (let i = 0; i < n; i++) if (found.scores[i]! >= threshold) picked.push(i);
      picked.sort(order);
      const out: LexicalHit[] = [];
      for (const i of picked) {
        if (out.length >= k) break;
        const chunk = this.docs[found.docs[i]!]!;
        if (accept && !accept(chunk)) continue;
        const b = found.bits[i]!;
        out.push({ chunk, score: found.scores[i]!, matched: terms.filter((_, bit) => b & (1 << bit)) });
      }
      if (out.length >= k || threshold === -Infinity) return out;
    }
  }

  /**
   * Every chunk holding one of `terms` with its BM25 score and which terms it holds. The last
   * query's are kept until the index changes: a search is often asked twice in a row (the filtered
   * answer and the count of what the filter held back).
   */
  private scored(terms: readonly string[]): ScoredDocs {
    this.buildPostings();
    const key = terms.join('\0');
    if (this.lastScored?.key === key && this.lastScored.version === this.version) return this.lastScored;
    // Scores and matched-term bits in arrays reused across searches, with the docs touched listed:
    // a common term has postings in a large share of 200,000 chunks, too many for a Map per search.
    if (this.scores.length < this.docs.length) {
      this.scores = new Float64Array(Math.ceil(this.docs.length * 1.25));
      this.matchedBits = new Uint32Array(this.scores.length);
    }
    const { scores, matchedBits: bits } = this;
    const touched: number[] = [];
    const averageLength = this.totalLength / this.alive;
    terms.forEach((term, bit) => {
      const id = this.terms.get(term)!;
      const df = this.docFreq[id]!;
      if (df === 0) return;
      const idf = Math.log(1 + (this.alive - df + 0.5) / (df + 0.5));
      const named = languagesNamedBy(term);
      this.postings.forEach(id, (doc, stored) => {
        const chunk = this.docs[doc];
        if (chunk === undefined) return;
        const tf = stored < SATURATED_TF ? stored : this.frequency(doc, id);
        const norm = K1 * (1 - B + (B * this.docLength[doc]!) / averageLength);
        const weight = named?.includes(chunk.language) ? OWN_LANGUAGE_WEIGHT : 1;
        if (bits[doc] === 0) touched.push(doc);
        scores[doc] += (weight * idf * tf * (K1 + 1)) / (tf + norm);
        bits[doc] |= 1 << bit;
      });
    });
    const found: ScoredDocs = { key, version: this.version, docs: Int32Array.from(touched), scores: new Float64Array(touched.length), bits: new Uint32Array(touched.length) };
    touched.forEach((doc, i) => {
      found.scores[i] = scores[doc]!;
      found.bits[i] = bits[doc]!;
      scores[doc] = 0;
      bits[doc] = 0;
    });
    this.lastScored = found;
    return found;
  }

  /** Which of `terms` (query terms, see `queryTerms`) the stored chunk of `path` at `startLine`..`endLine` holds. */
  termsIn(path: string, startLine: number, endLine: number, terms: readonly string[]): string[] {
    const doc = this.byPath.get(path)?.find((d) => this.docs[d]?.startLine === startLine && this.docs[d]?.endLine === endLine);
    if (doc === undefined) return [];
    const from = this.docTermStart[doc]!;
    const own = this.flatTerms.subarray(from, from + this.docTermCount[doc]!);
    return terms.filter((t) => {
      const id = this.terms.get(t);
      return id !== undefined && own.includes(id);
    });
  }

  /** How often chunk `doc` holds term `id`, from its own term list (postings cap the count). */
  private frequency(doc: number, id: number): number {
    for (let i = this.docTermStart[doc]!, end = i + this.docTermCount[doc]!; i < end; i++) if (this.flatTerms[i] === id) return this.flatFreqs[i]!;
    return 0;
  }

  /** Counts `n` occurrences of a term in the chunk being added (in the scratch arrays); returns `n`. */
  private addTerm(id: number, n: number): number {
    const at = this.slot[id]!;
    if (at > 0) this.scratchFreqs[at - 1] = Math.min(65_535, this.scratchFreqs[at - 1]! + n);
    else {
      if (this.chunkTerms === this.scratchTerms.length) {
        this.scratchTerms = grown(this.scratchTerms, 2 * this.chunkTerms);
        this.scratchFreqs = grown(this.scratchFreqs, 2 * this.chunkTerms);
      }
      this.scratchTerms[this.chunkTerms] = id;
      this.scratchFreqs[this.chunkTerms] = Math.min(65_535, n);
      this.slot[id] = ++this.chunkTerms;
    }
    return n;
  }

  /** This index's id of each vocabulary entry: by number when the terms are numbered, else by looking each up. */
  private vocabularyIds({ vocabulary, numbered }: FileTerms): Int32Array {
    if (!numbered) return Int32Array.from(vocabulary, (t) => this.termId(t));
    let known = this.byNumber.get(numbered.space) ?? new Int32Array(1024).fill(-1);
    const out = new Int32Array(vocabulary.length);
    for (let i = 0; i < vocabulary.length; i++) {
      const n = numbered.numbers[i]!;
      if (n >= known.length) known = grown(known, Math.max(2 * known.length, n + 1)).fill(-1, known.length);
      let id = known[n]!;
      if (id < 0) id = known[n] = this.termId(vocabulary[i]!);
      out[i] = id;
    }
    this.byNumber.set(numbered.space, known);
    return out;
  }

  /** The id of `text[start, end)` as a term, added when new. */
  private termId(text: string, start = 0, end = text.length): number {
    const known = this.terms.size;
    const id = this.terms.idOf(text, start, end);
    if (id === known) {
      this.postings.addTerm();
      this.docFreq.push(0);
      if (id >= this.slot.length) this.slot = grown(this.slot, this.slot.length * 2);
    }
    return id;
  }

  /**
   * Adds chunks without their postings until `buildPostings`: loading a whole index, appending
   * each posting to its term's chain of blocks cost more than the rest of the keyword side, while
   * building them all at once from the chunks' own term lists takes two passes over those lists.
   */
  deferPostings(): void {
    this.postingsDeferred = true;
  }

  /** Makes the postings that `deferPostings` held back (searches call it first themselves). */
  buildPostings(): void {
    if (!this.postingsDeferred) return;
    this.postingsDeferred = false;
    this.rebuildPostings();
  }

  private rebuildPostings(): void {
    this.postings = PostingPool.fromDocs(this.terms.size, this.docTermStart, this.docTermCount, this.flatTerms, this.flatFreqs);
  }

  /** Gives back the room its arrays keep for growth: after a run or a load, when no more is coming soon. */
  trim(): void {
    this.buildPostings();
    this.postings.trim();
    // Room of an eighth or less is kept (copying a million chunks' entries to save it costs a
    // second), and a sixteenth is left, so that the next edit does not copy them all to grow.
    const keep = this.flatLength + (this.flatLength >> 4);
    if (this.flatTerms.length > this.flatLength + (this.flatLength >> 3)) {
      this.flatTerms = this.flatTerms.slice(0, keep);
      this.flatFreqs = this.flatFreqs.slice(0, keep);
    }
  }

  /**
   * Makes room for about `entries` more chunk entries at once (a load knows roughly how many are
   * coming), with a tenth to spare so that an estimate a little short does not copy them all again.
   */
  reserve(entries: number): void {
    if (this.flatLength + entries > this.flatTerms.length) this.growFlat(Math.ceil(1.1 * (this.flatLength + entries)));
  }

  private growFlat(capacity: number): void {
    this.flatTerms = grown(this.flatTerms, capacity);
    this.flatFreqs = grown(this.flatFreqs, capacity);
  }

  /** Appends one chunk's term ids and frequencies to the flat arrays. */
  private pushTerms(termIds: Int32Array, freqs: Uint16Array): void {
    const n = termIds.length;
    if (this.flatLength + n > this.flatTerms.length) this.growFlat(Math.max(this.flatTerms.length * 2, this.flatLength + n));
    this.docTermStart.push(this.flatLength);
    this.docTermCount.push(n);
    this.flatTerms.set(termIds, this.flatLength);
    this.flatFreqs.set(freqs, this.flatLength);
    this.flatLength += n;
  }

  /** Renumbers live chunks densely and rebuilds postings from them. */
  private compact(): void {
    const remap = new Int32Array(this.docs.length).fill(-1);
    const docs: StoredChunk[] = [];
    const lengths: number[] = [];
    const { docTermStart: starts, docTermCount: counts, flatTerms: terms, flatFreqs: freqs } = this;
    this.docTermStart = [];
    this.docTermCount = [];
    this.flatTerms = new Int32Array(Math.max(1 << 12, this.flatLength));
    this.flatFreqs = new Uint16Array(this.flatTerms.length);
    this.flatLength = 0;
    this.docs.forEach((chunk, old) => {
      if (!chunk) return;
      const doc = docs.length;
      remap[old] = doc;
      docs.push(chunk);
      lengths.push(this.docLength[old]!);
      const from = starts[old]!;
      const n = counts[old]!;
      this.pushTerms(terms.subarray(from, from + n), freqs.subarray(from, from + n));
    });
    this.rebuildPostings();
    this.docs = docs;
    this.docLength = lengths;
    for (const [p, ids] of this.byPath) this.byPath.set(p, ids.map((d) => remap[d]!));
  }

}

/** The chunks a query's terms reach (`docs`), their scores and which terms each holds (bit i: term i). */
interface ScoredDocs {
  key: string;
  version: number;
  docs: Int32Array;
  scores: Float64Array;
  bits: Uint32Array;
}

function isFileTerms(content: readonly string[] | FileTerms): content is FileTerms {
  return !Array.isArray(content);
}
