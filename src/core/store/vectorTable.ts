import picomatch from 'picomatch';
import type { ScoredChunk, SearchFilter, StoredChunk } from './records';
import type { ShardFile } from './vectraShard';

/**
 * All vectors in one contiguous Float32Array, so a query is a single tight scan with no object
 * per item, and exact: the same top-k as brute force over the stored vectors.
 */
export class VectorTable {
  private constructor(
    private readonly dimension: number,
    private readonly vectors: Float32Array,
    private readonly chunks: StoredChunk[],
  ) {}

  static build(dimension: number, files: Iterable<ShardFile>): VectorTable {
    const chunks: StoredChunk[] = [];
    const parts: Float32Array[] = [];
    for (const f of files) {
      chunks.push(...f.chunks);
      parts.push(...f.vectors);
    }
    const vectors = new Float32Array(chunks.length * dimension);
    parts.forEach((v, i) => vectors.set(v, i * dimension));
    return new VectorTable(dimension, vectors, chunks);
  }

  get size(): number {
    return this.chunks.length;
  }

  topK(query: Float32Array, k: number, filter: SearchFilter): ScoredChunk[] {
    if (query.length !== this.dimension) throw new Error(`query has ${query.length} dimensions, index has ${this.dimension}`);
    const accept = compileFilter(filter);
    const heap = new TopKHeap(k);
    const d = this.dimension;
    const vs = this.vectors;
    for (let i = 0; i < this.chunks.length; i++) {
      if (accept && !accept(this.chunks[i]!)) continue;
      let dot = 0;
      const off = i * d;
      for (let j = 0; j < d; j++) dot += query[j]! * vs[off + j]!;
      heap.offer(i, dot);
    }
    return heap.sorted().map(([i, score]) => ({ ...this.chunks[i]!, score }));
  }
}

export function compileFilter(filter: SearchFilter): ((c: StoredChunk) => boolean) | undefined {
  const tests: ((c: StoredChunk) => boolean)[] = [];
  if (filter.pathGlob) {
    const glob = filter.pathGlob;
    // A bare folder name or glob without a slash matches anywhere, as in VS Code's search box.
    const isMatch = picomatch(glob.includes('/') ? glob : [glob, `**/${glob}`, `**/${glob}/**`, `${glob}/**`], { dot: true });
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
  if (filter.excludeRange) {
    const r = filter.excludeRange;
    tests.push((c) => !(c.path === r.path && c.startLine <= r.endLine && c.endLine >= r.startLine));
  }
  if (tests.length === 0) return undefined;
  return (c) => tests.every((t) => t(c));
}

/** Min-heap of the k best (index, score) pairs seen so far. */
class TopKHeap {
  private readonly ids: number[] = [];
  private readonly scores: number[] = [];

  constructor(private readonly k: number) {}

  offer(id: number, score: number): void {
    if (this.k <= 0) return;
    if (this.ids.length < this.k) {
      this.ids.push(id);
      this.scores.push(score);
      this.siftUp(this.ids.length - 1);
    } else if (score > this.scores[0]!) {
      this.ids[0] = id;
      this.scores[0] = score;
      this.siftDown(0);
    }
  }

  sorted(): [number, number][] {
    return this.ids.map((id, i): [number, number] => [id, this.scores[i]!]).sort((a, b) => b[1] - a[1] || a[0] - b[0]);
  }

  private siftUp(i: number): void {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.scores[parent]! <= this.scores[i]!) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  private siftDown(i: number): void {
    const n = this.ids.length;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < n && this.scores[l]! < this.scores[m]!) m = l;
      if (r < n && this.scores[r]! < this.scores[m]!) m = r;
      if (m === i) return;
      this.swap(i, m);
      i = m;
    }
  }

  private swap(a: number, b: number): void {
    [this.ids[a], this.ids[b]] = [this.ids[b]!, this.ids[a]!];
    [this.scores[a], this.scores[b]] = [this.scores[b]!, this.scores[a]!];
  }
}
