import { createHash } from 'node:crypto';
import { languageOf } from '../chunk/languages';
import { componentsFrom, EdgeGraph, starClusters, type Star } from './cluster';
import { chunkKey, SemanticIndex, type SemanticChunk } from './semantic';
import { TextualIndex, type TextFragment } from './textual';
import { hashString } from '../charTable';
import { hasStatement, KEYWORD_IDS, NORM_IDENTIFIER, NORM_NUMBER, NORM_STRING, tokenize, type TokenizedFile } from './tokenize';
import type { DupeGroup, DupeKind, DupeMember, DupeOptions, DupeSource, DupeUpdateReport } from './types';

/** Languages that are data or prose: copies there are content, not code to factor out. */
const NOT_CODE = new Set(['markdown', 'restructuredtext', 'plaintext', 'asciidoc', 'text', 'json', 'yaml', 'toml', 'xml', 'csv', 'svg']);
/** Fragments of one file whose line ranges overlap at least this much (intersection over union) are one member. */
const SAME_FRAGMENT = 0.5;
/** A chunk more than this share import lines, or literal tokens, is boilerplate or data. */
const MAX_IMPORT_SHARE = 0.5;
const MAX_LITERAL_SHARE = 0.4;
/**
 * Lines of bare names (`type Foo as Foo,`, `Bar,`): export and import lists. A chunk mostly made of
 * them looks like every other such list to an embedding model.
 */
const MAX_LIST_SHARE = 0.6;
const LIST_PUNCTUATION = new Set([',', ';', '{', '}', '.', '*'].map(hashString));

/** Tokenized files by content hash, so a revert, a rename or a second pass with other options costs nothing. */
export class TokenCache {
  private readonly byHash = new Map<string, TokenizedFile>();

  get(text: string, language: string): { tokens: TokenizedFile; hash: string; hit: boolean } {
    const hash = createHash('sha1').update(language).update('\0').update(text).digest('hex');
    const cached = this.byHash.get(hash);
    if (cached) return { tokens: cached, hash, hit: true };
    const tokens = tokenize(text, language);
    this.byHash.set(hash, tokens);
    return { tokens, hash, hit: false };
  }

  private previouslyLive: ReadonlySet<string> = new Set();

  /** Drops entries that neither the current files nor those of the previous update use (so undo is free). */
  retainOnly(live: ReadonlySet<string>): void {
    for (const h of this.byHash.keys()) if (!live.has(h) && !this.previouslyLive.has(h)) this.byHash.delete(h);
    this.previouslyLive = live;
  }
}

interface FileSnapshot {
  state: string;
  contentHash?: string;
}

interface TextNode {
  key: string;
  path: string;
  start: number;
  end: number;
  /** The fragment other fragments are compared with when deciding whether they are the same member. */
  reference: { start: number; end: number };
  /** The pair sides (`${pairId}:a|b`) this member holds. */
  sides: string[];
}

/**
 * Near-duplicates of one indexed folder, kept up to date incrementally: `update` looks at what
 * changed in the index since the last call and recomputes only the pairs of changed files and the
 * groups those pairs belong to; every other group is kept as it was.
 */
export class DupeIndex {
  private readonly snapshot = new Map<string, FileSnapshot>();
  private readonly textual: TextualIndex;
  private semantic: SemanticIndex | undefined;
  private readonly textGraph = new EdgeGraph();
  private readonly semGraph = new EdgeGraph();
  private readonly textNodesByFile = new Map<string, TextNode[]>();
  private readonly textNodes = new Map<string, TextNode>();
  /** `${pairId}:a|b` → the key of the member node holding that side of the pair. */
  private readonly nodeOfFragment = new Map<string, string>();
  private readonly books: Record<DupeKind, GroupBook> = { textual: new GroupBook(), semantic: new GroupBook() };
  private sorted: DupeGroup[] | undefined;

  constructor(
    readonly options: DupeOptions,
    private readonly cache = new TokenCache(),
  ) {
    this.textual = new TextualIndex({ minTokens: options.minTokens, minLines: options.minLines });
  }

  /** The tokens of an analysed file (for reports and calibration). */
  tokensOf(path: string): TokenizedFile | undefined {
    return this.textual.tokensOf(path);
  }

  /** The groups, highest impact first. */
  groups(): DupeGroup[] {
    this.sorted ??= [...this.books.textual.all(), ...this.books.semantic.all()].sort(
      (x, y) => y.impact - x.impact || y.score - x.score || (x.id < y.id ? -1 : x.id > y.id ? 1 : 0),
    );
    return this.sorted;
  }

  async update(source: DupeSource, signal?: AbortSignal): Promise<DupeUpdateReport> {
    const started = performance.now();
    const report: DupeUpdateReport = { filesChanged: 0, filesRemoved: 0, filesFromCache: 0, textualPairs: 0, semanticPairs: 0, semanticChunks: 0, groupsKept: 0, groupsRecomputed: 0, seconds: 0 };

    // 1. What changed since the last update, by the index's own record of each file.
    const current = new Map<string, string>();
    for (const p of source.paths()) {
      if (NOT_CODE.has(languageOf(p))) continue;
      const state = source.fileState(p);
      if (state) current.set(p, `${state.mtimeMs}:${state.size}`);
    }
    const changed: string[] = [];
    const removed: string[] = [];
    for (const [p, state] of current) if (this.snapshot.get(p)?.state !== state) changed.push(p);
    for (const p of this.snapshot.keys()) if (!current.has(p)) removed.push(p);
    report.filesChanged = changed.length;
    report.filesRemoved = removed.length;
    if (changed.length === 0 && removed.length === 0) {
      report.groupsKept = this.books.textual.count + this.books.semantic.count;
      report.seconds = (performance.now() - started) / 1000;
      return report;
    }
    changed.sort();
    const gone = [...changed, ...removed];

    // 2. Textual pairs of the changed files.
    const oldTextNodes = gone.flatMap((p) => (this.textNodesByFile.get(p) ?? []).map((n) => n.key));
    const textTouched = new Set<string>(gone);
    for (const p of gone) for (const partner of this.textual.remove(p)) textTouched.add(partner);
    for (const p of removed) this.snapshot.delete(p);
    const readable: string[] = [];
    for (const p of changed) {
      signal?.throwIfAborted();
      const text = await source.readText(p);
      if (text === undefined) {
        this.snapshot.set(p, { state: current.get(p)! });
        continue;
      }
      const { tokens, hash, hit } = this.cache.get(text, languageOf(p));
      if (hit) report.filesFromCache++;
      this.snapshot.set(p, { state: current.get(p)!, contentHash: hash });
      this.textual.add(p, tokens);
      readable.push(p);
    }
    signal?.throwIfAborted();
    if (this.options.kinds.includes('textual')) {
      for (const partner of this.textual.findPairs(readable)) textTouched.add(partner);
    }

    // 3. Member nodes and edges of every file whose textual pairs changed.
    const oldTouchedNodes = [...textTouched].flatMap((p) => (this.textNodesByFile.get(p) ?? []).map((n) => n.key));
    for (const key of oldTouchedNodes) {
      this.textGraph.removeNode(key);
      this.textNodes.delete(key);
    }
    for (const p of textTouched) this.rebuildTextNodes(p);
    for (const p of textTouched) {
      for (const pair of this.textual.pairsOf(p)) {
        this.textGraph.addEdge(this.nodeOfFragment.get(`${pair.id}:a`)!, this.nodeOfFragment.get(`${pair.id}:b`)!, pair.similarity);
      }
    }
    const newTextNodes = [...textTouched].flatMap((p) => (this.textNodesByFile.get(p) ?? []).map((n) => n.key));
    const textResult = this.books.textual.recompute(this.textGraph, [...oldTextNodes, ...oldTouchedNodes], newTextNodes, (star) => this.textGroup(star));

    // 4. Semantic pairs of the changed files' chunks.
    let semResult = { kept: this.books.semantic.count, recomputed: 0 };
    if (this.options.kinds.includes('semantic')) {
      const chunks = readable.flatMap((p) => eligibleChunks(p, this.textual.tokensOf(p), source, this.options));
      this.semantic ??= chunks.length > 0 ? new SemanticIndex(chunks[0]!.vector.length, this.options.threshold) : undefined;
      if (this.semantic) {
        const semantic = this.semantic;
        const oldSemNodes = gone.flatMap((p) => semantic.keysOf(p));
        for (const key of oldSemNodes) this.semGraph.removeNode(key);
        for (const p of gone) semantic.removePath(p);
        semantic.add(chunks);
        signal?.throwIfAborted();
        const pairs = semantic.pairsFor(readable, (a, b) => !overlaps(a, b) && !this.explainedTextually(a, b));
        for (const pair of pairs) this.semGraph.addEdge(pair.a, pair.b, pair.similarity);
        const newSemNodes = readable.flatMap((p) => semantic.keysOf(p));
        semResult = this.books.semantic.recompute(this.semGraph, oldSemNodes, newSemNodes, (star) => this.semanticGroup(star, semantic));
        report.semanticChunks = semantic.size;
      }
    }

    const live = new Set<string>();
    for (const s of this.snapshot.values()) if (s.contentHash) live.add(s.contentHash);
    this.cache.retainOnly(live);
    this.sorted = undefined;
    report.textualPairs = countOf(this.textual.allPairs());
    report.semanticPairs = this.books.semantic.edgeCount(this.semGraph);
    report.groupsKept = textResult.kept + semResult.kept;
    report.groupsRecomputed = textResult.recomputed + semResult.recomputed;
    report.seconds = (performance.now() - started) / 1000;
    return report;
  }

  /** Merges a file's clone fragments into members: overlapping copies of one region are one member. */
  private rebuildTextNodes(path: string): void {
    for (const n of this.textNodesByFile.get(path) ?? []) {
      this.textNodes.delete(n.key);
      for (const side of n.sides) this.nodeOfFragment.delete(side);
    }
    const sides: { fragment: TextFragment; id: string }[] = [];
    for (const pair of this.textual.pairsOf(path)) {
      if (pair.a.path === path) sides.push({ fragment: pair.a, id: `${pair.id}:a` });
      if (pair.b.path === path) sides.push({ fragment: pair.b, id: `${pair.id}:b` });
    }
    sides.sort((x, y) => x.fragment.startLine - y.fragment.startLine || y.fragment.endLine - x.fragment.endLine);
    const nodes: TextNode[] = [];
    for (const side of sides) {
      const f = side.fragment;
      let home: TextNode | undefined;
      for (let i = nodes.length - 1; i >= 0 && i >= nodes.length - 8; i--) {
        if (lineJaccard(nodes[i]!.reference, { start: f.startLine, end: f.endLine }) >= SAME_FRAGMENT) {
          home = nodes[i];
          break;
        }
      }
      if (!home) {
        home = { key: '', path, start: f.startLine, end: f.endLine, reference: { start: f.startLine, end: f.endLine }, sides: [] };
        nodes.push(home);
      }
      home.start = Math.min(home.start, f.startLine);
      home.end = Math.max(home.end, f.endLine);
      home.sides.push(side.id);
    }
    const kept: TextNode[] = [];
    for (const node of nodes) {
      node.key = `${path}#${node.start}-${node.end}`;
      // Two references merging to the same range would collide; the first keeps the key, the rest join it.
      const existing = this.textNodes.get(node.key);
      for (const side of node.sides) this.nodeOfFragment.set(side, node.key);
      if (existing) {
        existing.sides.push(...node.sides);
        continue;
      }
      this.textNodes.set(node.key, node);
      kept.push(node);
    }
    this.textNodesByFile.set(path, kept);
  }

  private textGroup(star: Star): DupeGroup | undefined {
    const members: DupeMember[] = [];
    for (const [key, similarity] of [[star.center, 1] as const, ...star.members]) {
      const node = this.textNodes.get(key)!;
      members.push({ path: node.path, start: node.start, end: node.end, similarity, kind: 'textual' });
    }
    return makeGroup('textual', members);
  }

  private semanticGroup(star: Star, semantic: SemanticIndex): DupeGroup | undefined {
    const members: DupeMember[] = [];
    for (const [key, similarity] of [[star.center, 1] as const, ...star.members]) {
      const c = semantic.chunk(key)!;
      members.push({ path: c.path, start: c.startLine, end: c.endLine, similarity, kind: 'semantic' });
    }
    return makeGroup('semantic', members);
  }

  /** True when a textual clone already covers most of both chunks: no need to say it twice. */
  private explainedTextually(a: SemanticChunk, b: SemanticChunk): boolean {
    for (const pair of this.textual.pairsOf(a.path)) {
      if (coverShare(pair.a, a) >= 0.5 && coverShare(pair.b, b) >= 0.5) return true;
      if (coverShare(pair.b, a) >= 0.5 && coverShare(pair.a, b) >= 0.5) return true;
    }
    return false;
  }
}

/**
 * The groups of one kind, filed by connected component of the pair graph, so an update can
 * replace the groups of the components it touched and keep all others.
 */
class GroupBook {
  private readonly componentOf = new Map<string, number>();
  private readonly groupsOf = new Map<number, { nodes: string[]; groups: DupeGroup[] }>();
  private nextComponent = 1;

  get count(): number {
    let n = 0;
    for (const c of this.groupsOf.values()) n += c.groups.length;
    return n;
  }

  *all(): IterableIterator<DupeGroup> {
    for (const c of this.groupsOf.values()) yield* c.groups;
  }

  edgeCount(graph: EdgeGraph): number {
    let n = 0;
    for (const c of this.groupsOf.values()) for (const node of c.nodes) n += graph.neighbours(node)?.size ?? 0;
    return n / 2;
  }

  /**
   * Regroups the components that held any of `oldNodes` before the graph changed, plus those now
   * reachable from `newNodes`.
   */
  recompute(graph: EdgeGraph, oldNodes: readonly string[], newNodes: readonly string[], build: (star: Star) => DupeGroup | undefined): { kept: number; recomputed: number } {
    const dirty = new Set<number>();
    for (const node of oldNodes) {
      const c = this.componentOf.get(node);
      if (c !== undefined) dirty.add(c);
    }
    const seeds: string[] = [...newNodes];
    for (const c of dirty) {
      const entry = this.groupsOf.get(c)!;
      for (const node of entry.nodes) {
        this.componentOf.delete(node);
        if (graph.has(node)) seeds.push(node);
      }
      this.groupsOf.delete(c);
    }
    // A new node may join a component nobody marked dirty (its first link to it is new).
    for (const node of newNodes) {
      for (const next of graph.neighbours(node)?.keys() ?? []) {
        const c = this.componentOf.get(next);
        if (c === undefined || dirty.has(c)) continue;
        dirty.add(c);
        for (const n of this.groupsOf.get(c)!.nodes) {
          this.componentOf.delete(n);
          seeds.push(n);
        }
        this.groupsOf.delete(c);
      }
    }
    let recomputed = 0;
    for (const nodes of componentsFrom(graph, seeds)) {
      const id = this.nextComponent++;
      const groups = starClusters(graph, nodes).flatMap((star) => build(star) ?? []);
      recomputed += groups.length;
      for (const node of nodes) this.componentOf.set(node, id);
      this.groupsOf.set(id, { nodes, groups });
    }
    return { kept: this.count - recomputed, recomputed };
  }
}

/**
 * Chunks worth comparing by meaning: code, big enough to matter, and not boilerplate (import
 * blocks, licence headers and other comment-only chunks, tables of literals).
 */
export function eligibleChunks(path: string, tokens: TokenizedFile | undefined, source: Pick<DupeSource, 'chunksOf' | 'vectorFor'>, options: Pick<DupeOptions, 'minLines' | 'minTokens'>): SemanticChunk[] {
  if (!tokens) return [];
  const out: SemanticChunk[] = [];
  for (const chunk of source.chunksOf(path)) {
    if (chunk.kind !== 'code' || chunk.endLine - chunk.startLine + 1 < options.minLines) continue;
    const vector = source.vectorFor(chunk.hash);
    if (!vector) continue;
    const from = firstTokenAtLine(tokens, chunk.startLine);
    const to = firstTokenAtLine(tokens, chunk.endLine + 1);
    if (to - from < options.minTokens) continue;
    // Punctuation is left out of the share: a table of numbers is half commas.
    let literals = 0;
    let words = 0;
    for (let i = from; i < to; i++) {
      const t = tokens.norm[i]!;
      if (t === NORM_STRING || t === NORM_NUMBER) literals++;
      if (t === NORM_STRING || t === NORM_NUMBER || t === NORM_IDENTIFIER || KEYWORD_IDS.has(t)) words++;
    }
    if (literals > MAX_LITERAL_SHARE * words) continue;
    if (!hasStatement(tokens, from, to)) continue;
    let codeLines = 0;
    let importLines = 0;
    let listLines = 0;
    let lineIsList = true;
    for (let i = from; i < to; i++) {
      const line = tokens.line[i]!;
      if (i === from || line !== tokens.line[i - 1]) {
        codeLines++;
        if (tokens.importLines[line]) importLines++;
        lineIsList = true;
      }
      const t = tokens.norm[i]!;
      if (!(t === NORM_IDENTIFIER || KEYWORD_IDS.has(t) || LIST_PUNCTUATION.has(t))) lineIsList = false;
      if (i + 1 === to || tokens.line[i + 1] !== line) if (lineIsList) listLines++;
    }
    if (importLines > MAX_IMPORT_SHARE * codeLines || listLines > MAX_LIST_SHARE * codeLines) continue;
    out.push({ path, startLine: chunk.startLine, endLine: chunk.endLine, vector, ...(chunk.symbol !== undefined ? { symbol: chunk.symbol } : {}) });
  }
  return out;
}

function makeGroup(kind: DupeKind, members: DupeMember[]): DupeGroup | undefined {
  const [center, ...rest] = members;
  rest.sort((x, y) => y.similarity - x.similarity || (x.path < y.path ? -1 : x.path > y.path ? 1 : x.start - y.start));
  // Two overlapping stretches of one file are one place, not two copies: they become one member
  // spanning both, with the closer similarity.
  const ordered: DupeMember[] = [];
  for (const m of [center!, ...rest]) {
    const same = ordered.find((o) => o.path === m.path && o.start <= m.end && m.start <= o.end);
    if (!same) ordered.push({ ...m });
    else {
      same.start = Math.min(same.start, m.start);
      same.end = Math.max(same.end, m.end);
    }
  }
  if (ordered.length < 2) return undefined;
  const score = rest.reduce((s, m) => s + m.similarity, 0) / Math.max(1, rest.length);
  const lines = Math.round(ordered.reduce((s, m) => s + m.end - m.start + 1, 0) / ordered.length);
  const id = createHash('sha1')
    .update(kind)
    .update(ordered.map((m) => `${m.path}:${m.start}-${m.end}`).sort().join('\n'))
    .digest('hex')
    .slice(0, 12);
  return { id, kind, score: Math.round(score * 10_000) / 10_000, lines, impact: lines * ordered.length, members: ordered.map((m) => ({ ...m, similarity: Math.round(m.similarity * 10_000) / 10_000 })) };
}

function lineJaccard(a: { start: number; end: number }, b: { start: number; end: number }): number {
  const inter = Math.min(a.end, b.end) - Math.max(a.start, b.start) + 1;
  if (inter <= 0) return 0;
  return inter / (Math.max(a.end, b.end) - Math.min(a.start, b.start) + 1);
}

function overlaps(a: SemanticChunk, b: SemanticChunk): boolean {
  return a.path === b.path && a.startLine <= b.endLine && b.startLine <= a.endLine;
}

/** Share of the chunk's lines that the fragment covers. */
function coverShare(f: TextFragment, c: SemanticChunk): number {
  if (f.path !== c.path) return 0;
  const inter = Math.min(f.endLine, c.endLine) - Math.max(f.startLine, c.startLine) + 1;
  return Math.max(0, inter) / (c.endLine - c.startLine + 1);
}

/** Index of the first token on `line` or later (binary search; tokens are in line order). */
function firstTokenAtLine(tokens: TokenizedFile, line: number): number {
  let lo = 0;
  let hi = tokens.line.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (tokens.line[mid]! < line) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function countOf(it: Iterable<unknown>): number {
  let n = 0;
  for (const _ of it) n++;
  return n;
}

export { chunkKey };
