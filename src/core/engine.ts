import * as path from 'node:path';
import { Chunker, CHUNKER_VERSION } from './chunk';
import { languageOf } from './chunk/languages';
import { defaultDupeOptions, likenessOf } from './dupes';
import { rankByShape, shapeOf, similarDepth } from './dupes/shape';
import { TransformersEmbedder, type Embedder } from './embed/embedder';
import type { DownloadProgress } from './embed/hubDownload';
import { resolveModel, type ResolvedModel } from './embed/resolveModel';
import { IdleStoppingParser, ThreadParser, type FileParser } from './index/fileParser';
import { ParserPool } from './index/parserPool';
import { DEFAULT_ROLES, roleOfPath, type FileRole } from './scan/fileRole';
import type { SearchMode } from './search/hybrid';
import { DEMOTED_WEIGHT, RootIndex, type SearchHit, type SearchOptions } from './rootIndex';
import { buildMap, type MapOptions, type WorkspaceMap } from './map/workspaceMap';
import type { ScanOptions } from './scan/scanner';

/** Longer hit texts are not compared with the selection: only the slices of an overlong line get there. */
const MAX_COMPARED_CHARS = 64_000;

export interface EngineRoot {
  root: string;
  indexDir: string;
  scan?: ScanOptions;
}

export interface EngineOptions {
  model?: string;
  bundledModelsDir: string;
  modelCacheDir: string;
  /** Inference threads, and parsing threads unless `parseThreads` says otherwise. */
  threads?: number;
  /** Parsing threads (with `parseThreadEntry`); default `threads`. */
  parseThreads?: number;
  roots: EngineRoot[];
  env?: NodeJS.ProcessEnv;
  onDownload?: (p: DownloadProgress) => void;
  /** Script of the parsing thread (`parseThread.js` beside the bundle); without it files are parsed inline. */
  parseThreadEntry?: string;
}

export interface RootSearchHit extends SearchHit {
  root: string;
}

/** Every root's hits merged, and how they were ranked (see `SearchAnswer`). */
export interface EngineSearchAnswer {
  hits: RootSearchHit[];
  mode: SearchMode;
  degraded?: string;
  heldBack?: Partial<Record<FileRole, number>>;
}

export interface SimilarResult {
  /** What was compared: the selection, or the chunk around the cursor. */
  range: { path: string; startLine: number; endLine: number };
  hits: RootSearchHit[];
  /** Which of the model's candidates were left out because their files could not be read now. */
  degraded?: string;
}

/**
 * The composition root of Nearby's core: one model and one chunker shared by the index of every
 * workspace folder. Hosts (worker, tests) build everything through `Engine.open`.
 */
export class Engine {
  private constructor(
    readonly model: ResolvedModel,
    readonly embedder: Embedder,
    private readonly chunker: Chunker,
    readonly roots: Map<string, RootIndex>,
    private readonly parser: FileParser | undefined,
    /** Why files are parsed inline although a parsing thread was asked for. */
    readonly parseThreadError: string | undefined,
  ) {}

  static async open(options: EngineOptions): Promise<Engine> {
    const model = await resolveModel({
      bundledDir: options.bundledModelsDir,
      cacheDir: options.modelCacheDir,
      ...(options.model !== undefined ? { model: options.model } : {}),
      ...(options.env ? { env: options.env } : {}),
      ...(options.onDownload ? { download: { onProgress: options.onDownload } } : {}),
    });
    const embedder = await TransformersEmbedder.load(model, options.threads !== undefined ? { threads: options.threads } : {});
    const chunker = await Chunker.create();
    let parser: FileParser | undefined;
    let parseThreadError: string | undefined;
    const entry = options.parseThreadEntry;
    if (entry) {
      const start = () => ThreadParser.start(entry, { model, settings: { maxTokens: embedder.info.maxTokens } });
      try {
        // The first thread is started now (a failure means parsing inline); the others with the first run that needs them.
        const first = new IdleStoppingParser(start, await start());
        const lanes = Math.max(1, options.parseThreads ?? options.threads ?? 1);
        parser = lanes === 1 ? first : new ParserPool([first, ...Array.from({ length: lanes - 1 }, () => new IdleStoppingParser(start, undefined))]);
      } catch (err) {
        parseThreadError = (err as Error).message;
      }
    }
    const roots = new Map<string, RootIndex>();
    try {
      for (const r of options.roots) {
        const index = await RootIndex.open(r.root, r.indexDir, embedder, chunker, CHUNKER_VERSION, r.scan ?? {}, parser);
        roots.set(index.root, index);
      }
    } catch (err) {
      chunker.dispose();
      await parser?.dispose();
      await embedder.dispose();
      throw err;
    }
    return new Engine(model, embedder, chunker, roots, parser, parseThreadError);
  }

  /** Searches every root and merges the hits by score. */
  async search(query: string, options: SearchOptions = {}): Promise<EngineSearchAnswer> {
    const vector = options.mode === 'lexical' ? undefined : await this.embedder.embedQuery(query);
    const answers = await Promise.all([...this.roots.values()].map(async (r) => ({ root: r.root, answer: await r.searchQuery(query, vector, options) })));
    const hits = mergeByScore(answers.map(({ root, answer }) => answer.hits.map((h) => ({ ...h, root }))), options.k ?? 10);
    const asked = options.mode ?? 'hybrid';
    const mode = answers.find((a) => a.answer.mode !== asked)?.answer.mode ?? asked;
    const degraded = answers.flatMap((a) => (a.answer.degraded ? [a.answer.degraded] : [])).join('; ');
    const heldBack: Partial<Record<FileRole, number>> = {};
    for (const { answer } of answers) for (const [role, n] of Object.entries(answer.heldBack ?? {}) as [FileRole, number][]) heldBack[role] = (heldBack[role] ?? 0) + n;
    return { hits, mode, ...(degraded ? { degraded } : {}), ...(Object.keys(heldBack).length > 0 ? { heldBack } : {}) };
  }

  /**
   * Chunks like lines `start..end` of `root/relPath` (or like `text`, for unsaved editor contents),
   * in every root; the range itself is left out. A single line with no text stands for the chunk
   * around it: "the current function". The model's best `similarDepth(k)` are ranked by meaning
   * and shape together (`rankByShape`), tests and the like lower unless the selection is one.
   * Hits the near-duplicate detectors would group with the selection carry their `likeness`,
   * judged by the same rules and threshold.
   */
  async similar(root: string, relPath: string, start: number, end: number, options: SearchOptions & { text?: string } = {}): Promise<SimilarResult> {
    const source = this.roots.get(root);
    if (!source) throw new Error(`${root} is not an indexed folder.`);
    let range = { path: relPath, startLine: start, endLine: end };
    if (options.text === undefined && start === end) range = source.chunkAround(relPath, start) ?? range;
    const text = options.text ?? (await source.rangeText(relPath, range.startLine, range.endLine));
    if (text === undefined || text.trim() === '') throw new Error(`Nothing to compare: ${relPath}:${range.startLine}-${range.endLine} is empty or unreadable.`);
    const k = options.k ?? 10;
    const candidates = await this.searchAll(await source.embedText(relPath, text), { ...options, k: similarDepth(k), previewLines: 0 }, { root: source.root, range });
    const selection = { text, language: languageOf(relPath) };
    // Each candidate's lines as they are on disk now, each file read once (and let go once the
    // candidates are cut out: a file can be large). A slice of an overlong line reads back as the
    // whole line and has no shape (no chunk is that big, nor a copy of the selection); a file that
    // cannot be read (changed or removed since it was indexed) leaves its hits out, and says so.
    const texts = new Map<RootSearchHit, string>();
    const files = new Map<string, Promise<string[] | undefined>>();
    const unreadable = new Set<string>();
    const label = (hit: RootSearchHit) => (this.roots.size > 1 ? path.join(hit.root, hit.path) : hit.path);
    await Promise.all(
      candidates.map(async (hit) => {
        const key = `${hit.root}\0${hit.path}`;
        if (!files.has(key)) files.set(key, this.roots.get(hit.root)!.fileLines(hit.path));
        const lines = await files.get(key);
        if (!lines) unreadable.add(label(hit));
        const hitText = lines?.slice(hit.startLine - 1, hit.endLine).join('\n');
        if (hitText !== undefined && hitText.length <= MAX_COMPARED_CHARS) texts.set(hit, hitText);
      }),
    );
    files.clear();
    const readable = unreadable.size === 0 ? candidates : candidates.filter((hit) => !unreadable.has(label(hit)));
    // Like search, Find Similar puts implementation and docs first: tests, examples, configuration,
    // generated and vendored code rank lower unless the selection is of that kind itself.
    const own = source.contents.chunksOf(relPath)[0]?.role ?? roleOfPath(relPath);
    const rankWeightOf = (hit: RootSearchHit) => (DEFAULT_ROLES.includes(hit.role ?? 'source') || hit.role === own ? 1 : DEMOTED_WEIGHT);
    const shapeOfHit = (hit: RootSearchHit) => {
      const hitText = texts.get(hit);
      return hitText === undefined ? undefined : shapeOf(hitText, hit.language);
    };
    const ranked = rankByShape(shapeOf(text, selection.language), readable, (hit) => hit.score, shapeOfHit, k, rankWeightOf);
    const dupeOptions = defaultDupeOptions(this.embedder.info);
    const labelled = await Promise.all(
      ranked.map(async ({ candidate: hit, score, shape }) => {
        const cosine = hit.score;
        const hitText = texts.get(hit);
        const likeness = hitText !== undefined && likenessOf(selection, { text: hitText, language: hit.language, cosine, lines: hit.endLine - hit.startLine + 1 }, dupeOptions);
        const [previewed] = await this.roots.get(hit.root)!.withPreviews([hit], options.previewLines);
        return { ...previewed!, root: hit.root, score, vectorScore: cosine, shapeScore: shape, ...(likeness ? { likeness } : {}) };
      }),
    );
    const left = candidates.length - readable.length;
    const named = [...unreadable].slice(0, 3).join(', ') + (unreadable.size > 3 ? ` and ${unreadable.size - 3} more` : '');
    const degraded = left > 0 ? `${left} ${left === 1 ? 'match was' : 'matches were'} left out: ${named} could not be read (changed or removed since indexing?)` : undefined;
    return { range, hits: labelled, ...(degraded ? { degraded } : {}) };
  }

  /** The map of every root's chunks (see `buildMap`). */
  map(options: MapOptions = {}): Promise<WorkspaceMap> {
    return buildMap([...this.roots.values()].map((r) => ({ root: r.root, contents: r.contents })), options);
  }

  private async searchAll(vector: Float32Array, options: SearchOptions, exclude?: { root: string; range: { path: string; startLine: number; endLine: number } }): Promise<RootSearchHit[]> {
    const perRoot = await Promise.all(
      [...this.roots.values()].map(async (r) => {
        const filter = exclude?.root === r.root ? { ...options.filter, excludeRange: exclude.range } : options.filter;
        const hits = await r.searchVector(vector, { ...options, ...(filter ? { filter } : {}) });
        return hits.map((h) => ({ ...h, root: r.root }));
      }),
    );
    return mergeByScore(perRoot, options.k ?? 10);
  }

  async dispose(): Promise<void> {
    this.chunker.dispose();
    await this.parser?.dispose();
    await this.embedder.dispose();
  }
}

function mergeByScore(perRoot: RootSearchHit[][], k: number): RootSearchHit[] {
  return perRoot.flat().sort((a, b) => b.score - a.score).slice(0, k);
}
