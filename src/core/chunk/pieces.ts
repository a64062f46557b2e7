import { createHash } from 'node:crypto';
import type { Chunk, ChunkKind, TokenCounter } from '../types';

/** A candidate chunk: a range of lines (0-based, inclusive) plus context lines shown before it. */
export interface Piece {
  start: number;
  end: number;
  /**
   * Rows of the enclosing signatures (`class Foo:`), so a part of a split definition still says
   * what it is. Rows inside the piece itself are not repeated: the opening part needs no context.
   */
  header: readonly number[];
  symbol?: string;
}

export interface PieceOptions {
  maxTokens: number;
  minTokens: number;
  tokens: TokenCounter;
}

/**
 * Turns pieces of one file into chunks that respect the model window: checks sizes with the
 * model's tokenizer, merges tiny neighbours, and falls back to line windows (and, for a single
 * overlong line, to character slices) so that nothing is dropped and nothing is too big.
 */
export class PieceSet {
  private readonly sizes = new Map<string, number>();

  constructor(
    readonly lines: readonly string[],
    private readonly options: PieceOptions,
  ) {}

  text(p: Piece): string {
    return [...this.context(p), ...this.lines.slice(p.start, p.end + 1)].join('\n');
  }

  private headerTokens(rows: readonly number[]): number {
    return rows.length ? this.options.tokens.count(rows.map((r) => this.lines[r]!).join('\n')) : 0;
  }

  tokens(p: Piece): number {
    const key = `${p.start}:${p.end}:${p.header.join(',')}`;
    let n = this.sizes.get(key);
    if (n === undefined) {
      n = this.options.tokens.count(this.text(p));
      this.sizes.set(key, n);
    }
    return n;
  }

  fits(p: Piece): boolean {
    return this.tokens(p) <= this.options.maxTokens;
  }

  isBlank(p: Piece): boolean {
    for (let i = p.start; i <= p.end; i++) if (this.lines[i]!.trim() !== '') return false;
    return true;
  }

  /** Merges consecutive pieces while one side is tiny and the result still fits. */
  mergeTiny(pieces: Piece[]): Piece[] {
    const out: Piece[] = [];
    for (const p of pieces) {
      const prev = out[out.length - 1];
      if (prev && prev.end + 1 === p.start && isPrefix(prev.header, p.header) && (this.isTiny(prev) || this.isTiny(p))) {
        const merged: Piece = { start: prev.start, end: p.end, header: prev.header };
        // Named after the side that carries the weight: a one-line error class or the imports glued
        // to a function are still that function. Two tiny neighbours keep the first name.
        const lead = this.isTiny(prev) && !this.isTiny(p) ? p.symbol ?? prev.symbol : prev.symbol ?? p.symbol;
        if (lead !== undefined) merged.symbol = lead;
        if (this.fits(merged)) {
          out[out.length - 1] = merged;
          continue;
        }
      }
      out.push(p);
    }
    return out;
  }

  /** Tiny by its own lines: the shared context of a split definition does not make a part big. */
  private isTiny(p: Piece): boolean {
    return this.tokens({ start: p.start, end: p.end, header: [] }) < this.options.minTokens;
  }

  /**
   * Consecutive line windows covering `p`, each within the window, with `overlap` lines shared
   * between neighbours. Lines are counted one by one (an over-estimate: each count includes the
   * special tokens), then each window is checked on its real text and shrunk if needed.
   */
  windows(p: Piece, overlap = 0, maxLines = Number.MAX_SAFE_INTEGER): Piece[] {
    const out: Piece[] = [];
    const headerTokens = this.headerTokens(this.contextRows(p));
    let start = p.start;
    while (start <= p.end) {
      let end = start;
      let budget = this.options.maxTokens - headerTokens - this.options.tokens.count(this.lines[start]!);
      while (end < p.end && end - start + 1 < maxLines) {
        const next = this.options.tokens.count(this.lines[end + 1]!);
        if (next > budget) break;
        budget -= next;
        end++;
      }
      const w: Piece = { start, end, header: p.header };
      if (p.symbol !== undefined) w.symbol = p.symbol;
      while (!this.fits(w) && w.end > w.start) w.end--;
      out.push(w);
      if (w.end >= p.end) break;
      start = Math.max(w.end + 1 - overlap, start + 1);
    }
    return out;
  }

  /** Final chunks: blank-edged lines trimmed, oversize single lines sliced, hashes computed. */
  toChunks(pieces: Piece[], meta: { path: string; language: string; kind: ChunkKind }): Chunk[] {
    const chunks: Chunk[] = [];
    for (const raw of pieces) {
      const p = this.trim(raw);
      if (!p) continue;
      if (this.fits(p)) {
        chunks.push(this.chunk(p, this.text(p), meta));
        continue;
      }
      // Only a single line can still be too big here: a minified or generated line.
      for (const w of this.windows(p)) {
        if (this.fits(w)) chunks.push(this.chunk(w, this.text(w), meta));
        else for (const slice of this.slices(w)) chunks.push(this.chunk(w, slice, meta));
      }
    }
    return chunks;
  }

  private trim(p: Piece): Piece | undefined {
    let { start, end } = p;
    while (start <= end && this.lines[start]!.trim() === '') start++;
    while (end >= start && this.lines[end]!.trim() === '') end--;
    return start > end ? undefined : { ...p, start, end };
  }

  /** Character slices of a one-line piece, each (with its header) within the window. */
  private slices(p: Piece): string[] {
    const context = this.context(p);
    const header = context.length ? `${context.join('\n')}\n` : '';
    const line = this.lines[p.start]!;
    const out: string[] = [];
    let from = 0;
    while (from < line.length) {
      let lo = 1;
      // A WordPiece/BPE token rarely spans more than a dozen characters; this bound keeps the
      // binary search cheap on megabyte-long lines.
      let hi = Math.min(line.length - from, this.options.maxTokens * 12);
      while (lo < hi) {
        const mid = Math.ceil((lo + hi) / 2);
        if (this.options.tokens.count(header + line.slice(from, from + mid)) <= this.options.maxTokens) lo = mid;
        else hi = mid - 1;
      }
      out.push(header + line.slice(from, from + lo));
      from += lo;
    }
    return out;
  }

  private context(p: Piece): string[] {
    return this.contextRows(p).map((row) => this.lines[row]!);
  }

  /**
   * The context shown before a piece: signatures above it, innermost first to stay when deep
   * nesting would crowd out the content (more than a third of the window).
   */
  private contextRows(p: Piece): number[] {
    const rows = p.header.filter((row) => row < p.start);
    while (rows.length > 0 && this.headerTokens(rows) > this.options.maxTokens / 3) rows.shift();
    return rows;
  }

  private chunk(p: Piece, text: string, meta: { path: string; language: string; kind: ChunkKind }): Chunk {
    const c: Chunk = { path: meta.path, startLine: p.start + 1, endLine: p.end + 1, language: meta.language, kind: meta.kind, text, hash: createHash('sha256').update(text).digest('hex') };
    if (p.symbol !== undefined) c.symbol = p.symbol;
    return c;
  }
}

/**
 * Whether a piece with context `a` may absorb the next piece with context `b`: the same context,
 * or `a` is the opening part of the definition whose signature `b` adds (so `a` holds it).
 */
function isPrefix(a: readonly number[], b: readonly number[]): boolean {
  return a.length <= b.length && a.every((h, i) => h === b[i]);
}
