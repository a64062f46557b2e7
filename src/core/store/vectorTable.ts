import picomatch from 'picomatch';
import { createDotKernel, type DotKernel } from './dotKernel';
import type { ScoredChunk, SearchFilter, StoredChunk } from './records';

/**
 * Every vector of the index in one contiguous int8 matrix (the form they have on disk), one row per
 * chunk, updated in place: replacing a file's chunks touches only their rows, so a save is
 * searchable at once whatever the size of the index.
 *
 * A stored vector is `ints * inv` (int8 values, one float32 scale per row); `vector(row)` returns
 * exactly those float32 values, and `topK` returns exactly the top k of the dot products of the
 * query with them, computed in float64: the same as brute force. It gets there fast in two steps:
 * integer dot products with a 16-bit copy of the query over all rows (SIMD), each with a proven
 * error bound, then the exact score for the few rows whose bound reaches the k-th best.
 */
export class VectorTable {
  private readonly kernel: DotKernel;
  private chunks: (StoredChunk | undefined)[] = [];
  /** float32 scale per row: 1 / ||ints||. */
  private inv = new Float32Array(0);
  /** Per row, ||ints||_1 * inv: how much query rounding can move the row's approximate score. */
  private spread = new Float32Array(0);
  /** 1 for rows that search sees. */
  private live = new Uint8Array(0);
  private used = 0;
  private liveCount = 0;
  private readonly free: number[] = [];
  private version = 0;
  /** Masks of the filters last used (a search asks with and without its role filter), valid while `version` stands. */
  private masks = new Map<string, Uint8Array>();
  private maskVersion = -1;
  /**
   * The last query's approximate dot products, valid while `version` stands: a search asks twice
   * (with its role filter, and without it to count what the filter held back) and the scan over
   * every row is most of a search's cost. They live in the kernel's output, which only this
   * table's searches write.
   */
  private lastScan: { query: Float32Array; version: number; dots: Int32Array } | undefined;
  /** The kernel's matrix; a new view whenever it grows. */
  private m: Int8Array = new Int8Array(0);

  constructor(readonly dimension: number) {
    this.kernel = createDotKernel(dimension);
  }

  get size(): number {
    return this.liveCount;
  }

  /** Bytes held: the int8 matrix (its whole backing memory), per-row scales and the cached filter masks. */
  get memoryBytes(): number {
    let masks = 0;
    for (const mask of this.masks.values()) masks += mask.byteLength;
    return this.m.buffer.byteLength + this.inv.byteLength + this.spread.byteLength + this.live.byteLength + masks;
  }

  /** True when the SIMD kernel is in use (false: the JavaScript fallback, same results). */
  get simd(): boolean {
    return this.kernel.simd;
  }

  /** Adds a chunk with a float vector, stored int8-scaled exactly as it will be on disk. */
  add(chunk: StoredChunk, vector: Float32Array): number {
    if (vector.length !== this.dimension) throw new Error(`vector of ${vector.length} dimensions, index has ${this.dimension}`);
    const row = this.allocate();
    const m = this.m;
    const off = row * this.kernel.stride;
    let maxAbs = 0;
    for (let i = 0; i < vector.length; i++) maxAbs = Math.max(maxAbs, Math.abs(vector[i]!));
    // Never -128: the one int8 value with no positive twin would break the symmetric bounds of `spread`.
    const scale = maxAbs > 0 ? 127 / maxAbs : 0;
    let l1 = 0;
    let l2 = 0;
    for (let i = 0; i < vector.length; i++) {
      const x = Math.round(vector[i]! * scale);
      m[off + i] = x;
      l1 += Math.abs(x);
      l2 += x * x;
    }
    this.finish(row, chunk, l1, l2);
    return row;
  }

  /**
   * Adds a file's chunks whose vectors are already int8 in -127..127 (read from disk): rows
   * `first`, `first + 1`, … of `source`, `dimension` values each, with their sums of |x| and x² at
   * `2 * row` and `2 * row + 1` of `sums`. Returns the table row of each chunk.
   */
  addQuantizedRun(chunks: readonly StoredChunk[], source: Int8Array, sums: Int32Array, first: number): number[] {
    const d = this.dimension;
    if (source.length < (first + chunks.length) * d) throw new Error(`${chunks.length} vectors from item ${first} of ${source.length / d}`);
    const rows = chunks.map(() => this.allocate());
    // Taken after `allocate`, which may grow the matrix.
    const m = this.m;
    const stride = this.kernel.stride;
    if (stride === d && rows.every((r, j) => r === rows[0]! + j)) m.set(source.subarray(first * d, (first + rows.length) * d), rows[0]! * stride);
    else rows.forEach((r, j) => m.set(source.subarray((first + j) * d, (first + j + 1) * d), r * stride));
    rows.forEach((r, j) => this.finish(r, chunks[j]!, sums[2 * (first + j)]!, sums[2 * (first + j) + 1]!));
    return rows;
  }

  /** Takes a row out of search; its vector stays readable until `recycle`. */
  retire(row: number): void {
    if (!this.live[row]) return;
    this.live[row] = 0;
    this.liveCount--;
    this.version++;
  }

  /** Makes a retired row's space reusable. */
  recycle(row: number): void {
    if (this.live[row] || this.chunks[row] === undefined) return;
    this.chunks[row] = undefined;
    this.free.push(row);
  }

  isLive(row: number): boolean {
    return this.live[row] === 1;
  }

  /** The int8 values of a row (a view: copy it if the table may change meanwhile). */
  ints(row: number): Int8Array {
    const off = row * this.kernel.stride;
    return this.m.subarray(off, off + this.dimension);
  }

  /** The stored float32 vector of a row. */
  vector(row: number): Float32Array {
    const ints = this.ints(row);
    const inv = this.inv[row]!;
    const v = new Float32Array(this.dimension);
    for (let i = 0; i < v.length; i++) v[i] = ints[i]! * inv;
    return v;
  }

  topK(query: Float32Array, k: number, filter: SearchFilter = {}): ScoredChunk[] {
    if (query.length !== this.dimension) throw new Error(`query has ${query.length} dimensions, index has ${this.dimension}`);
    if (k <= 0 || this.liveCount === 0) return [];
    const mask = this.maskFor(filter);
    const rows = this.used;

    // A 16-bit copy of the query. Its scale also keeps every partial sum inside int32: by
    // Cauchy-Schwarz no sum exceeds ||q16|| * 127 * sqrt(stride).
    let maxAbs = 0;
    let norm2 = 0;
    for (let i = 0; i < query.length; i++) {
      maxAbs = Math.max(maxAbs, Math.abs(query[i]!));
      norm2 += query[i]! * query[i]!;
    }
    if (maxAbs === 0) return this.exactTopK(query, k, mask, rows);
    const qScale = Math.min(32767 / maxAbs, 2.1e9 / (127 * Math.sqrt(this.kernel.stride) * Math.sqrt(norm2)));
    const dots = this.dotsFor(query, qScale, rows);

    // approx = dot * inv / qScale differs from the exact score by at most
    // 0.5 / qScale * spread (query rounding) plus float rounding, which `slack` covers generously.
    const invQ = 1 / qScale;
    const halfStep = 0.5 / qScale;
    const slack = 1e-5 * (1 + Math.sqrt(norm2));
    const { inv, spread } = this;
    const floor = new KthLargest(k);
    for (let r = 0; r < rows; r++) {
      if (!mask[r]) continue;
      floor.offer(dots[r]! * inv[r]! * invQ - halfStep * spread[r]! - slack);
    }
    const threshold = floor.value;
    const candidates: number[] = [];
    for (let r = 0; r < rows; r++) {
      if (!mask[r]) continue;
      if (dots[r]! * inv[r]! * invQ + halfStep * spread[r]! + slack >= threshold) candidates.push(r);
    }
    return this.rank(query, k, candidates);
  }

  private dotsFor(query: Float32Array, qScale: number, rows: number): Int32Array {
    const last = this.lastScan;
    if (last && last.version === this.version && last.query.length === query.length && last.query.every((x, i) => x === query[i])) return last.dots;
    const q16 = this.kernel.query();
    q16.fill(0);
    for (let i = 0; i < query.length; i++) q16[i] = Math.round(query[i]! * qScale);
    const dots = this.kernel.run(rows);
    this.lastScan = { query: Float32Array.from(query), version: this.version, dots };
    return dots;
  }

  /** Score of `query` against a row, exactly as brute force over `vector(row)` computes it. */
  private exactScore(query: Float32Array, row: number): number {
    const ints = this.ints(row);
    const inv = this.inv[row]!;
    let s = 0;
    for (let i = 0; i < ints.length; i++) s += query[i]! * Math.fround(ints[i]! * inv);
    return s;
  }

  private exactTopK(query: Float32Array, k: number, mask: Uint8Array, rows: number): ScoredChunk[] {
    const all: number[] = [];
    for (let r = 0; r < rows; r++) if (mask[r]) all.push(r);
    return this.rank(query, k, all);
  }

  private rank(query: Float32Array, k: number, rows: number[]): ScoredChunk[] {
    const scored = rows.map((r) => ({ r, s: this.exactScore(query, r) }));
    // Equal scores (identical vectors) in a stable order that does not depend on row reuse.
    const chunks = this.chunks;
    scored.sort((a, b) => b.s - a.s || byPlace(chunks[a.r]!, chunks[b.r]!) || a.r - b.r);
    return scored.slice(0, k).map(({ r, s }) => ({ ...this.chunks[r]!, score: s }));
  }

  private allocate(): number {
    const row = this.free.pop();
    if (row !== undefined) {
      this.m.fill(0, row * this.kernel.stride, (row + 1) * this.kernel.stride);
      return row;
    }
    if (this.used >= this.kernel.capacity) {
      this.kernel.reserve(this.used + 1);
      this.m = this.kernel.matrix();
      const cap = this.kernel.capacity;
      this.inv = grow(this.inv, cap);
      this.spread = grow(this.spread, cap);
      this.live = grow(this.live, cap);
    }
    return this.used++;
  }

  private finish(row: number, chunk: StoredChunk, l1: number, l2: number): void {
    const inv = l2 > 0 ? 1 / Math.sqrt(l2) : 0;
    this.inv[row] = inv;
    this.spread[row] = l1 * inv;
    this.chunks[row] = chunk;
    this.live[row] = 1;
    this.liveCount++;
    this.version++;
  }

  private maskFor(filter: SearchFilter): Uint8Array {
    const key = filterKey(filter);
    if (key === '') return this.live;
    if (this.maskVersion !== this.version) {
      this.masks.clear();
      this.maskVersion = this.version;
    }
    const cached = this.masks.get(key);
    if (cached) return cached;
    const accept = compileRowFilter(filter);
    const mask = new Uint8Array(this.used);
    for (let r = 0; r < this.used; r++) if (this.live[r] && accept(this.chunks[r]!)) mask[r] = 1;
    if (this.masks.size >= MASKS_KEPT) this.masks.delete(this.masks.keys().next().value!);
    this.masks.set(key, mask);
    return mask;
  }
}

export function byPlace(a: StoredChunk, b: StoredChunk): number {
  return a.path < b.path ? -1 : a.path > b.path ? 1 : a.startLine - b.startLine;
}

function grow<T extends Float32Array | Uint8Array>(a: T, cap: number): T {
  const b = new (a.constructor as new (n: number) => T)(cap);
  b.set(a);
  return b;
}

const MASKS_KEPT = 4;

function filterKey(f: SearchFilter): string {
  if (!f.pathGlob && !f.languages?.length && !f.kind && !f.excludeRange && !f.roles) return '';
  return JSON.stringify([f.pathGlob ?? null, f.languages ?? null, f.kind ?? null, f.excludeRange ?? null, f.roles ?? null]);
}

/** `compileFilter`, with the path glob evaluated once per file rather than once per chunk. */
function compileRowFilter(filter: SearchFilter): (c: StoredChunk) => boolean {
  const inner = compileFilter({ ...filter, pathGlob: undefined });
  const glob = filter.pathGlob ? compileGlob(filter.pathGlob) : undefined;
  const byPath = new Map<string, boolean>();
  return (c) => {
    if (glob) {
      let ok = byPath.get(c.path);
      if (ok === undefined) byPath.set(c.path, (ok = glob(c.path)));
      if (!ok) return false;
    }
    return inner ? inner(c) : true;
  };
}

function compileGlob(glob: string): (p: string) => boolean {
  // A bare folder name or glob without a slash matches anywhere, as in VS Code's search box.
  return picomatch(glob.includes('/') ? glob : [glob, `**/${glob}`, `**/${glob}/**`, `${glob}/**`], { dot: true });
}

export function compileFilter(filter: SearchFilter): ((c: StoredChunk) => boolean) | undefined {
  const tests: ((c: StoredChunk) => boolean)[] = [];
  if (filter.pathGlob) {
    const isMatch = compileGlob(filter.pathGlob);
    tests.push((c) => isMatch(c.path));
  }
  if (filter.languages?.length) {
    const langs = new Set(filter.languages);
    tests.push((c) => langs.has(c.language));
  }
  if (filter.kind) {
    const kind = filter.kind;
    tests.push((c) => c.kind === kind);
  }
  if (filter.roles) {
    const roles = new Set(filter.roles);
    tests.push((c) => roles.has(c.role ?? 'source'));
  }
  if (filter.excludeRange) {
    const r = filter.excludeRange;
    tests.push((c) => !(c.path === r.path && c.startLine <= r.endLine && c.endLine >= r.startLine));
  }
  if (tests.length === 0) return undefined;
  return (c) => tests.every((t) => t(c));
}

/** The k-th largest of the numbers offered so far (-Infinity until k have been offered): a min-heap of k. */
export class KthLargest {
  private readonly heap: Float64Array;
  private n = 0;

  constructor(private readonly k: number) {
    this.heap = new Float64Array(k);
  }

  get value(): number {
    return this.n < this.k ? -Infinity : this.heap[0]!;
  }

  offer(x: number): void {
    const h = this.heap;
    if (this.n < this.k) {
      let i = this.n++;
      while (i > 0) {
        const parent = (i - 1) >> 1;
        if (h[parent]! <= x) break;
        h[i] = h[parent]!;
        i = parent;
      }
      h[i] = x;
      return;
    }
    if (x <= h[0]!) return;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= this.k) break;
      const r = l + 1;
      const m = r < this.k && h[r]! < h[l]! ? r : l;
      if (h[m]! >= x) break;
      h[i] = h[m]!;
      i = m;
    }
    h[i] = x;
  }
}
