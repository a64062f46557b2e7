import { createHash } from 'node:crypto';
import type { Chunk, ChunkKind, LineIds, TokenCounter } from '../types';

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
  private readonly lineSizes: Int32Array;
  /** Every line's ids, when the tokenizer gives them (`TokenCounter.lineIds`): sizes then add up exactly. */
  private readonly lineIds: LineIds | undefined;
  /** Tokens the tokenizer adds to any text ([CLS] and [SEP] for BERT). */
  private readonly specials: number;

  constructor(
    readonly lines: readonly string[],
    private readonly options: PieceOptions,
  ) {
    this.specials = options.tokens.count('');
    // Nearly every line is counted while chunking, so all are tokenized up front, in one pass.
    this.lineIds = options.tokens.lineIds?.(lines);
    if (this.lineIds) {
      const { starts } = this.lineIds;
      this.lineSizes = new Int32Array(lines.length);
      for (let r = 0; r < lines.length; r++) this.lineSizes[r] = starts[r + 1]! - starts[r]!;
    } else this.lineSizes = new Int32Array(lines.length).fill(-1);
  }

  text(p: Piece): string {
    return [...this.context(p), ...this.lines.slice(p.start, p.end + 1)].join('\n');
  }

  /** Tokens of one line without the specials, counted once per line. */
  private lineTokens(row: number): number {
    let n = this.lineSizes[row]!;
    if (n < 0) {
      n = Math.max(0, this.options.tokens.count(this.lines[row]!) - this.specials);
      this.lineSizes[row] = n;
    }
    return n;
  }

  /** The ids of lines `from` to `to` (inclusive), which lie together. */
  private idsOf(from: number, to = from): Int32Array {
    const { ids, starts } = this.lineIds!;
    return ids.subarray(starts[from]!, starts[to + 1]!);
  }

  private headerTokens(rows: readonly number[]): number {
    let n = 0;
    for (const r of rows) n += this.lineTokens(r);
    return n;
  }

  /**
   * A piece's size from its lines' sizes. Exact for tokenizers that split at whitespace first (the
   * WordPiece of the bundled models); close for others, so decisions near the limit use `tokens`.
   */
  private estimate(p: Piece): number {
    let n = this.specials + this.headerTokens(this.contextRows(p));
    for (let r = p.start; r <= p.end; r++) n += this.lineTokens(r);
    return n;
  }

  /** The exact size: the tokenizer on the piece's text (or its lines' ids, which add up to the same). */
  tokens(p: Piece): number {
    if (this.lineIds) return this.estimate(p);
    const key = `${p.start}:${p.end}:${p.header.join(',')}`;
    let n = this.sizes.get(key);
    if (n === undefined) {
      n = this.options.tokens.count(this.text(p));
      this.sizes.set(key, n);
    }
    return n;
  }

  /** Whether a candidate fits; clear cases are settled by the estimate, close ones by the tokenizer. */
  fits(p: Piece): boolean {
    const estimate = this.estimate(p);
    if (estimate <= this.options.maxTokens * 0.8) return true;
    if (estimate > this.options.maxTokens * 1.25) return false;
    return this.tokens(p) <= this.options.maxTokens;
  }

  /** The guarantee for emitted chunks: checked on the real text. */
  private fitsExactly(p: Piece): boolean {
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
    return this.estimate({ start: p.start, end: p.end, header: [] }) < this.options.minTokens;
  }

  /**
   * Consecutive line windows covering `p`, each within the window, with `overlap` lines shared
   * between neighbours. Lines are counted one by one, then each window is checked on its real
   * text and shrunk if needed.
   */
  windows(p: Piece, overlap = 0, maxLines = Number.MAX_SAFE_INTEGER): Piece[] {
    const out: Piece[] = [];
    const headerTokens = this.headerTokens(this.contextRows(p));
    let start = p.start;
    while (start <= p.end) {
      let end = start;
      let budget = this.options.maxTokens - this.specials - headerTokens - this.lineTokens(start);
      while (end < p.end && end - start + 1 < maxLines) {
        const next = this.lineTokens(end + 1);
        if (next > budget) break;
        budget -= next;
        end++;
      }
      const w: Piece = { start, end, header: p.header };
      if (p.symbol !== undefined) w.symbol = p.symbol;
      while (!this.fitsExactly(w) && w.end > w.start) w.end--;
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
      if (this.fitsExactly(p)) {
        chunks.push(this.chunk(p, this.text(p), meta));
        continue;
      }
      // Only a single line can still be too big here: a minified or generated line.
      for (const w of this.windows(p)) {
        const bare = { ...w, header: [] };
        if (this.fitsExactly(w)) chunks.push(this.chunk(w, this.text(w), meta));
        // A long line is better whole without its context than cut into slices.
        else if (w.header.length > 0 && this.fitsExactly(bare)) chunks.push(this.chunk(bare, this.text(bare), meta));
        else for (const slice of this.slices(w)) chunks.push(this.chunk(w, slice.text, meta, slice));
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

  /** Character slices of a one-line piece, each (with its header) within the window: the text and which part of the line. */
  private slices(p: Piece): { text: string; from: number; to: number }[] {
    const context = this.context(p);
    const header = context.length ? `${context.join('\n')}\n` : '';
    const line = this.lines[p.start]!;
    const slice = (from: number, to: number) => ({ text: header + line.slice(from, to), from, to });
    const cutLine = this.options.tokens.cutLine;
    if (this.lineIds && cutLine) {
      const budget = Math.max(1, this.options.maxTokens - this.specials - this.headerTokens(this.contextRows(p)));
      let from = 0;
      return cutLine(line, budget).map((end) => {
        const part = slice(from, end);
        from = end;
        return part;
      });
    }
    const out: { text: string; from: number; to: number }[] = [];
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
      out.push(slice(from, from + lo));
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

  /** `text` is the piece's text, or a slice of its one line (`slice`: which part of it). */
  private chunk(p: Piece, text: string, meta: { path: string; language: string; kind: ChunkKind }, slice?: { from: number; to: number }): Chunk {
    const c: Chunk = { path: meta.path, startLine: p.start + 1, endLine: p.end + 1, language: meta.language, kind: meta.kind, text, hash: createHash('sha256').update(text).digest('hex') };
    if (p.symbol !== undefined) c.symbol = p.symbol;
    if (this.lineIds) {
      const parts = this.contextRows(p).map((row) => this.idsOf(row));
      parts.push(slice ? this.options.tokens.lineIds!([this.lines[p.start]!.slice(slice.from, slice.to)]).ids : this.idsOf(p.start, p.end));
      c.tokenIds = this.options.tokens.modelInput!(parts);
    }
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

