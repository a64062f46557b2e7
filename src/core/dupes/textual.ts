import { hashString } from '../charTable';
import type { TokenizedFile } from './tokenize';
import { gramHash, shapeFor, winnow, type Fingerprints, type WinnowShape } from './winnow';

/** One side of a textual clone: tokens [startToken, endToken) of a file and the lines they span. */
export interface TextFragment {
  path: string;
  startToken: number;
  endToken: number;
  startLine: number;
  endLine: number;
}

export interface TextPair {
  id: number;
  a: TextFragment;
  b: TextFragment;
  /** Share of token positions whose exact text is equal: 1 for a verbatim copy. */
  similarity: number;
}

export interface TextualOptions {
  minTokens: number;
  minLines: number;
}

interface IndexedFile {
  id: number;
  path: string;
  tokens: TokenizedFile;
  prints: Fingerprints;
}

/** Occurrences of one fingerprint compared with each occurrence, at most. */
const MAX_CANDIDATES = 48;
/** Tokens of context on each side of a fingerprint that a candidate must share on one side. */
const CONTEXT = 8;
/** Numbers per posting: file id, token offset, context before, context after, hash of the exact gram. */
const STRIDE = 5;
/**
 * Below this share of identical tokens, a structural match is mostly different code in the same
 * shape (two code generators, two config tables), not a copy; judged on the bench's hand-read sample.
 */
const MIN_SIMILARITY = 0.65;
/**
 * Below this share, identical tokens make a clone only when what differs was renamed consistently
 * (a name changed everywhere it occurs, as when a function is copied and adapted); parallel tables
 * and generated code of one shape differ in a new token at almost every difference.
 */
const MIN_UNRENAMED_SIMILARITY = 0.77;
/** Share of the differing tokens whose (old, new) pair recurs, from which a clone counts as renamed. */
const MIN_RENAMED_SHARE = 0.5;
/** A clone more than this share import statements is the usual header of a module, not a copy. */
const MAX_IMPORT_SHARE = 0.5;
/** Lines of a verbatim import or re-export list from which it counts as a copied barrel file. */
const LONG_IMPORT_LIST_LINES = 15;
/**
 * Nearly verbatim, as such a list counts: the module paths of two copies of a barrel often
 * differ, and two entry modules exporting the same names each add a few of their own.
 */
const MIN_LIST_SIMILARITY = 0.85;
/** A renamed (not verbatim) match whose tokens are this repetitive is a table or a list, not a copy. */
const MIN_DISTINCT_GRAMS = 0.5;

/**
 * Textual clones: maximal runs of at least `minTokens` normalized tokens (and `minLines` lines)
 * that occur twice, in two files or twice in one. Runs inside larger functions are found as well
 * as whole functions, since the whole token stream of each file is fingerprinted.
 */
export class TextualIndex {
  private readonly files = new Map<string, IndexedFile>();
  private readonly byId = new Map<number, IndexedFile>();
  /**
   * Fingerprint hash → flat [fileId, tokenOffset, before, after, exact, ...], where before and
   * after hash the CONTEXT tokens on either side of the gram and exact hashes its verbatim text.
   */
  private readonly postings = new Map<number, number[]>();
  private readonly pairs = new Map<number, TextPair>();
  private readonly pairsByFile = new Map<string, Set<number>>();
  private nextFileId = 1;
  private nextPairId = 1;
  readonly shape: WinnowShape;

  constructor(readonly options: TextualOptions) {
    this.shape = shapeFor(options.minTokens);
  }

  has(path: string): boolean {
    return this.files.has(path);
  }

  tokensOf(path: string): TokenizedFile | undefined {
    return this.files.get(path)?.tokens;
  }

  pairsOf(path: string): TextPair[] {
    return [...(this.pairsByFile.get(path) ?? [])].map((id) => this.pairs.get(id)!);
  }

  allPairs(): IterableIterator<TextPair> {
    return this.pairs.values();
  }

  /** Forgets a file and every pair it was part of; returns the other files of those pairs. */
  remove(path: string): Set<string> {
    const partners = new Set<string>();
    const file = this.files.get(path);
    if (!file) return partners;
    for (const id of this.pairsByFile.get(path) ?? []) {
      const pair = this.pairs.get(id)!;
      const other = pair.a.path === path ? pair.b.path : pair.a.path;
      if (other !== path) {
        partners.add(other);
        this.pairsByFile.get(other)?.delete(id);
      }
      this.pairs.delete(id);
    }
    this.pairsByFile.delete(path);
    const { hashes } = file.prints;
    for (let i = 0; i < hashes.length; i++) {
      const list = this.postings.get(hashes[i]!);
      if (!list) continue;
      const kept: number[] = [];
      for (let j = 0; j < list.length; j += STRIDE) if (list[j] !== file.id) for (let f = 0; f < STRIDE; f++) kept.push(list[j + f]!);
      if (kept.length === 0) this.postings.delete(hashes[i]!);
      else this.postings.set(hashes[i]!, kept);
    }
    this.files.delete(path);
    this.byId.delete(file.id);
    return partners;
  }

  add(path: string, tokens: TokenizedFile): void {
    if (this.files.has(path)) this.remove(path);
    const file: IndexedFile = { id: this.nextFileId++, path, tokens, prints: winnow(tokens.norm, this.shape) };
    this.files.set(path, file);
    this.byId.set(file.id, file);
    const { hashes, positions } = file.prints;
    for (let i = 0; i < hashes.length; i++) {
      let list = this.postings.get(hashes[i]!);
      if (!list) this.postings.set(hashes[i]!, (list = []));
      const pos = positions[i]!;
      list.push(file.id, pos, contextHash(tokens.norm, pos - CONTEXT), contextHash(tokens.norm, pos + this.shape.k), gramHash(tokens.raw, pos, this.shape.k));
    }
  }

  /**
   * Finds every pair with at least one side in `changed` (files already `add`ed), each once, and
   * returns the files on the other side of the new pairs.
   */
  findPairs(changed: Iterable<string>): Set<string> {
    const changedIds = new Set<number>();
    for (const p of changed) {
      const f = this.files.get(p);
      if (f) changedIds.add(f.id);
    }
    const partners = new Set<string>();
    // Per diagonal (file pair and offset between them), the token spans already matched, so each
    // clone is extended once however many fingerprints it contains.
    const covered = new Map<string, number[]>();
    const seen = new Set<string>();
    const candidates: number[] = [];
    for (const id of [...changedIds].sort((x, y) => x - y)) {
      const file = this.byId.get(id)!;
      const { hashes, positions } = file.prints;
      for (let i = 0; i < hashes.length; i++) {
        const pos = positions[i]!;
        const found = this.candidates(hashes[i]!, file, pos, candidates);
        for (let c = 0; c < found; c += 2) {
          const otherId = candidates[c]!;
          const otherPos = candidates[c + 1]!;
          // A pair of two changed files is found from the one with the smaller id.
          if (otherId !== id && changedIds.has(otherId) && otherId < id) continue;
          if (otherId === id && otherPos >= pos) continue;
          const other = this.byId.get(otherId)!;
          for (const pair of this.extend(file, pos, other, otherPos, covered, seen)) {
            this.pairs.set(pair.id, pair);
            for (const p of [pair.a.path, pair.b.path]) {
              let set = this.pairsByFile.get(p);
              if (!set) this.pairsByFile.set(p, (set = new Set()));
              set.add(pair.id);
            }
            if (other.path !== file.path) partners.add(other.path);
          }
        }
      }
    }
    return partners;
  }

  /**
   * Occurrences of `hash` worth comparing with (fileId, pos), written to `out` as flat pairs;
   * returns how many numbers were written. A clone reaching past the gram by CONTEXT tokens on at
   * least one side shares that side's context hash, so occurrences that share neither are skipped
   * without being compared: most shared grams are common idioms, not clones.
   */
  private candidates(hash: number, file: IndexedFile, pos: number, out: number[]): number {
    const list = this.postings.get(hash);
    if (!list || list.length <= STRIDE) return 0;
    const self = file.tokens.norm;
    const before = contextHash(self, pos - CONTEXT);
    const after = contextHash(self, pos + this.shape.k);
    const verbatim = gramHash(file.tokens.raw, pos, this.shape.k);
    let n = 0;
    // Verbatim occurrences first: in a common idiom (a list of names, say) the cap below could
    // otherwise be spent on look-alikes before the real copy is reached.
    for (const wantVerbatim of [true, false]) {
      for (let j = 0; j < list.length && n < 2 * MAX_CANDIDATES; j += STRIDE) {
        if (list[j] === file.id && list[j + 1] === pos) continue;
        if ((list[j + 4] === verbatim) !== wantVerbatim) continue;
        if (list[j + 2] !== before && list[j + 3] !== after) continue;
        out[n++] = list[j]!;
        out[n++] = list[j + 1]!;
      }
    }
    return n;
  }

  /**
   * Grows a shared gram into a clone: the maximal run of equal normalized tokens on its diagonal,
   * then, across small edits (a token or a few inserted, removed or changed), further runs of at
   * least BRIDGE_RUN tokens, while the edited tokens stay a small share of the whole. A renamed
   * clone too repetitive to be a copy (a table, a list of exports) can still hold verbatim runs,
   * which are clones whatever their shape, so those are kept instead.
   */
  private extend(a: IndexedFile, pa: number, b: IndexedFile, pb: number, covered: Map<string, number[]>, seen: Set<string>): TextPair[] {
    if (a.id === b.id && pa > pb) [pa, pb] = [pb, pa];
    if (isCovered(covered, a.id, b.id, pa, pb)) return [];
    const na = a.tokens.norm;
    const nb = b.tokens.norm;
    const core = maximalRun(na, nb, pa, pb);
    cover(covered, a.id, b.id, core);
    let segments: Run[] = [core];
    if (a.id !== b.id || core.a + core.length <= core.b) {
      this.bridge(na, nb, segments, 1, covered, a.id, b.id);
      this.bridge(na, nb, segments, -1, covered, a.id, b.id);
    }
    const endA = segments[segments.length - 1]!.a + segments[segments.length - 1]!.length;
    if (a.id === b.id && endA > segments[0]!.b) {
      // Within one file, a run that overlaps its own copy repeats with period |a - b|: one period
      // is the copy (two adjacent identical functions share their closing and opening tokens).
      segments = [{ ...core, length: Math.min(core.length, core.b - core.a) }];
    }
    trimEdges(na, segments);
    const barrel = this.copiedImportList(a, b, segments, seen);
    if (barrel) return [barrel];
    trimImports(a.tokens, segments);
    // A list of imports or re-exports closing the match (an entry module's exports after its
    // code) is judged apart from the code before it, as a list.
    const tail = trailingImportStart(a.tokens, segments);
    if (tail === undefined) return this.judge(a, b, segments, seen);
    const list = this.copiedImportList(a, b, clip(segments, tail, Infinity), seen);
    return [...(list ? [list] : []), ...this.judge(a, b, clip(segments, -Infinity, tail), seen)];
  }

  /** The clone that aligned runs make, if they make one (see `extend`). */
  private judge(a: IndexedFile, b: IndexedFile, segments: Run[], seen: Set<string>): TextPair[] {
    const na = a.tokens.norm;
    let matched = 0;
    for (const s of segments) matched += s.length;
    if (matched < this.options.minTokens) return [];
    const first = segments[0]!;
    const last = segments[segments.length - 1]!;
    const spanA = last.a + last.length - first.a;
    const spanB = last.b + last.length - first.b;
    const ra = a.tokens.raw;
    const rb = b.tokens.raw;
    let equal = 0;
    for (const s of segments) for (let i = 0; i < s.length; i++) if (ra[s.a + i] === rb[s.b + i]) equal++;
    const verbatim = equal === spanA && spanA === spanB;
    const similarity = equal / Math.max(spanA, spanB);
    const copied = verbatim || similarity >= MIN_UNRENAMED_SIMILARITY || renamedShare(ra, rb, segments) >= MIN_RENAMED_SHARE;
    if (verbatim || (copied && distinctGramShare(na, first.a, spanA) >= MIN_DISTINCT_GRAMS)) {
      const pair = this.pair(a, first.a, first.a + spanA, b, first.b, first.b + spanB, similarity, seen);
      return pair ? [pair] : [];
    }
    const exact: TextPair[] = [];
    for (const s of segments) {
      for (let i = 0; i < s.length; ) {
        if (ra[s.a + i] !== rb[s.b + i]) {
          i++;
          continue;
        }
        let j = i;
        while (j < s.length && ra[s.a + j] === rb[s.b + j]) j++;
        if (j - i >= this.options.minTokens) {
          const pair = this.pair(a, s.a + i, s.a + j, b, s.b + i, s.b + j, 1, seen);
          if (pair) exact.push(pair);
        }
        i = j;
      }
    }
    return exact;
  }

  /**
   * A short import header is how every module starts and is never a clone; but a long list of
   * imports or re-exports copied (nearly) verbatim means a whole barrel file was duplicated.
   */
  private copiedImportList(a: IndexedFile, b: IndexedFile, segments: Run[], seen: Set<string>): TextPair | undefined {
    if (segments.length === 0) return undefined;
    const first = segments[0]!;
    const last = segments[segments.length - 1]!;
    const spanA = last.a + last.length - first.a;
    const spanB = last.b + last.length - first.b;
    if (spanA < this.options.minTokens || importShare(a.tokens, first.a, first.a + spanA) <= MAX_IMPORT_SHARE) return undefined;
    if (a.tokens.line[first.a + spanA - 1]! - a.tokens.line[first.a]! + 1 < LONG_IMPORT_LIST_LINES) return undefined;
    let equal = 0;
    for (const s of segments) for (let i = 0; i < s.length; i++) if (a.tokens.raw[s.a + i] === b.tokens.raw[s.b + i]) equal++;
    const similarity = equal / Math.max(spanA, spanB);
    if (similarity < MIN_LIST_SIMILARITY) return undefined;
    return this.pair(a, first.a, first.a + spanA, b, first.b, first.b + spanB, similarity, seen, true);
  }

  /** Adds runs past small edits in one direction (1: forward, -1: backward) to `segments`. */
  private bridge(na: Int32Array, nb: Int32Array, segments: Run[], direction: 1 | -1, covered: Map<string, number[]>, idA: number, idB: number): void {
    let matched = segments.reduce((n, s) => n + s.length, 0);
    let gaps = 0;
    for (;;) {
      const edge = direction === 1 ? segments[segments.length - 1]! : segments[0]!;
      // Tokens just past the edge: after the last run going forward, before the first going back.
      const ea = direction === 1 ? edge.a + edge.length : edge.a - 1;
      const eb = direction === 1 ? edge.b + edge.length : edge.b - 1;
      const step = findBridge(na, nb, ea, eb, direction);
      if (!step) return;
      const [skipA, skipB] = step;
      const startA = ea + direction * skipA;
      const startB = eb + direction * skipB;
      let length = 0;
      while (inside(na, startA + direction * length) && inside(nb, startB + direction * length) && na[startA + direction * length] === nb[startB + direction * length]) length++;
      const gap = Math.max(skipA, skipB);
      if ((gaps + gap) > MAX_EDIT_SHARE * (matched + length)) return;
      gaps += gap;
      matched += length;
      const run: Run = direction === 1 ? { a: startA, b: startB, length } : { a: startA - length + 1, b: startB - length + 1, length };
      cover(covered, idA, idB, run);
      if (direction === 1) segments.push(run);
      else segments.unshift(run);
    }
  }

  private pair(a: IndexedFile, sa: number, ea: number, b: IndexedFile, sb: number, eb: number, similarity: number, seen: Set<string>, importList = false): TextPair | undefined {
    const key = `${a.id}:${sa}:${ea}:${b.id}:${sb}:${eb}`;
    if (seen.has(key)) return undefined;
    seen.add(key);
    const fa = fragment(a, sa, ea);
    const fb = fragment(b, sb, eb);
    if (fa.endLine - fa.startLine + 1 < this.options.minLines || fb.endLine - fb.startLine + 1 < this.options.minLines) return undefined;
    // Even copied verbatim, a list of imports or re-exports is how modules start, not code to share.
    if (!importList && importShare(a.tokens, sa, ea) > MAX_IMPORT_SHARE) return undefined;
    if (similarity < MIN_SIMILARITY) return undefined;
    return { id: this.nextPairId++, a: fa, b: fb, similarity };
  }
}

const CLOSERS = new Set(['}', ')', ']', ';', ','].map(hashString));
const OPENERS = new Set(['{', '(', '[', ','].map(hashString));

/**
 * A clone that starts with the closing brace of the function before it, or ends with the opening
 * one of the next, reads as spilling into its neighbours: those tokens are left out.
 */
function trimEdges(na: Int32Array, segments: Run[]): void {
  const first = segments[0]!;
  while (first.length > 0 && CLOSERS.has(na[first.a]!)) {
    first.a++;
    first.b++;
    first.length--;
  }
  const last = segments[segments.length - 1]!;
  while (last.length > 0 && OPENERS.has(na[last.a + last.length - 1]!)) last.length--;
}

/** Of the aligned tokens that differ, the share whose (old, new) pair differs that way more than once. */
function renamedShare(ra: Int32Array, rb: Int32Array, segments: readonly Run[]): number {
  const pairs = new Map<string, number>();
  let differing = 0;
  for (const s of segments) {
    for (let i = 0; i < s.length; i++) {
      if (ra[s.a + i] === rb[s.b + i]) continue;
      differing++;
      const key = `${ra[s.a + i]}:${rb[s.b + i]}`;
      pairs.set(key, (pairs.get(key) ?? 0) + 1);
    }
  }
  let recurring = 0;
  for (const n of pairs.values()) if (n > 1) recurring += n;
  return differing === 0 ? 1 : recurring / differing;
}

/** Where a list of imports or re-exports closing the runs starts (a token of `a`), if one does and code comes before it. */
function trailingImportStart(tokens: TokenizedFile, segments: readonly Run[]): number | undefined {
  const first = segments[0]!;
  const last = segments[segments.length - 1]!;
  let i = last.a + last.length - 1;
  if (last.length === 0 || !tokens.importLines[tokens.line[i]!]) return undefined;
  while (i >= first.a && tokens.importLines[tokens.line[i]!]) i--;
  return i >= first.a ? i + 1 : undefined;
}

/** The parts of the runs whose tokens of `a` lie in [from, to). */
function clip(segments: readonly Run[], from: number, to: number): Run[] {
  const out: Run[] = [];
  for (const s of segments) {
    const start = Math.max(s.a, from);
    const end = Math.min(s.a + s.length, to);
    if (end > start) out.push({ a: start, b: s.b + (start - s.a), length: end - start });
  }
  return out;
}

/** Leading import statements are where every module starts, not part of what was copied. */
function trimImports(tokens: TokenizedFile, segments: Run[]): void {
  const first = segments[0]!;
  while (first.length > 0 && tokens.importLines[tokens.line[first.a]!]) {
    first.a++;
    first.b++;
    first.length--;
  }
}

/** Equal normalized tokens at a[a..a+length) and b[b..b+length). */
interface Run {
  a: number;
  b: number;
  length: number;
}

/** Tokens skipped on either side to step over one edit (a short added line such as a log call). */
const MAX_SKIP = 12;
/** Equal tokens needed after an edit to continue the clone across it. */
const BRIDGE_RUN = 10;
/** Edited tokens allowed, as a share of the matched ones. */
const MAX_EDIT_SHARE = 0.2;

function maximalRun(na: Int32Array, nb: Int32Array, pa: number, pb: number): Run {
  let back = 0;
  while (pa - back - 1 >= 0 && pb - back - 1 >= 0 && na[pa - back - 1] === nb[pb - back - 1]) back++;
  let fwd = 0;
  while (pa + fwd < na.length && pb + fwd < nb.length && na[pa + fwd] === nb[pb + fwd]) fwd++;
  return { a: pa - back, b: pb - back, length: back + fwd };
}

/**
 * The smallest skip (fewest tokens on the longer side, then the most even) after which BRIDGE_RUN
 * tokens match again: a changed token is (1, 1), an inserted one (1, 0) or (0, 1).
 */
function findBridge(na: Int32Array, nb: Int32Array, ea: number, eb: number, direction: 1 | -1): [number, number] | undefined {
  for (let m = 1; m <= MAX_SKIP; m++) {
    for (let d = 0; d <= m; d++) {
      for (const [i, j] of d === 0 ? [[m, m]] : [[m, m - d], [m - d, m]]) {
        if (runMatches(na, nb, ea + direction * i!, eb + direction * j!, direction)) return [i!, j!];
      }
    }
  }
  return undefined;
}

function runMatches(na: Int32Array, nb: Int32Array, a: number, b: number, direction: 1 | -1): boolean {
  for (let t = 0; t < BRIDGE_RUN; t++) {
    const x = a + direction * t;
    const y = b + direction * t;
    if (!inside(na, x) || !inside(nb, y) || na[x] !== nb[y]) return false;
  }
  return true;
}

function inside(tokens: Int32Array, i: number): boolean {
  return i >= 0 && i < tokens.length;
}

function isCovered(covered: Map<string, number[]>, idA: number, idB: number, pa: number, pb: number): boolean {
  const spans = covered.get(`${idA}:${idB}:${pa - pb}`);
  if (spans) for (let s = 0; s < spans.length; s += 2) if (pa >= spans[s]! && pa < spans[s + 1]!) return true;
  return false;
}

/** Marks a run as matched on its diagonal, so the other fingerprints inside it are not extended again. */
function cover(covered: Map<string, number[]>, idA: number, idB: number, run: Run): void {
  const key = `${idA}:${idB}:${run.a - run.b}`;
  const spans = covered.get(key);
  if (spans) spans.push(run.a, run.a + run.length);
  else covered.set(key, [run.a, run.a + run.length]);
}

/** Share of the tokens in [start, end) on import lines: every file of a folder imports the same things. */
function importShare(tokens: TokenizedFile, start: number, end: number): number {
  let n = 0;
  for (let i = start; i < end; i++) if (tokens.importLines[tokens.line[i]!]) n++;
  return n / Math.max(1, end - start);
}

/** Hash of tokens[start..start+CONTEXT), or a value no hash takes when that runs off the file. */
function contextHash(tokens: Int32Array, start: number): number {
  if (start < 0 || start + CONTEXT > tokens.length) return Number.NaN;
  return gramHash(tokens, start, CONTEXT);
}

function fragment(file: IndexedFile, start: number, end: number): TextFragment {
  return { path: file.path, startToken: start, endToken: end, startLine: file.tokens.line[start]!, endLine: file.tokens.line[end - 1]! };
}

/** Distinct 6-grams over all 6-grams: low for `case X: return Y;` tables and registration lists. */
function distinctGramShare(tokens: Int32Array, start: number, length: number): number {
  const g = 6;
  if (length <= g) return 1;
  const distinct = new Set<number>();
  for (let i = start; i + g <= start + length; i++) distinct.add(gramHash(tokens, i, g));
  return distinct.size / (length - g + 1);
}
