import * as path from 'node:path';
import { normalizeInPlace, type Embedder } from './embed/embedder';
import { indexModelId } from './embed/modelInfo';
import type { FileParser } from './index/fileParser';
import { runIndex, type FileChunker, type IndexRunOptions } from './index/indexer';
import type { IndexSummary } from './index/progress';
import { FILE_ROLES, rolesFor, type FileRole } from './scan/fileRole';
import type { ScanOptions } from './scan/scanner';
import type { FusionWeights, RankedChunk, SearchMode } from './search/hybrid';
import { queryTerms } from './search/codeTokens';
import { previewOf, SIGNATURE_LOOKBACK } from './search/preview';
import { explainHits, rankChunks } from './search/rank';
import type { Likeness } from './dupes';
import { readLines, readText } from './search/readLines';
import { IndexStore, type StoreMemory } from './store/indexStore';
import { readRunRecord, writeRunEnd, writeRunStart, type RunRecord } from './store/runRecord';
import type { SearchFilter } from './store/records';

export interface SearchHit extends RankedChunk {
  /** The hit's definition line and the lines that matched, for display. Absent if the file can no longer be read. */
  preview?: string;
  /** The line number of each line of `preview`; a jump between two is a gap. */
  previewAt?: number[];
  /** Find Similar: set when the near-duplicate detectors would group the hit with the selection. */
  likeness?: Likeness;
  /** Find Similar: the cosine of the hit's shape with the selection's (see `shapeOf`); `score` weighs it with `vectorScore`. */
  shapeScore?: number;
}

export interface SearchOptions {
  k?: number;
  filter?: SearchFilter;
  /** Lines of preview per hit; 0 for none. */
  previewLines?: number;
  /** Default `hybrid`: keyword and vector rankings fused. */
  mode?: SearchMode;
  /** Roles shown beside source and docs (`rolesFor`); a filter's own `roles` win over this. */
  include?: readonly FileRole[];
  /** Overrides the per-query fusion weights (for tuning them: scripts/tune-fusion.ts). */
  weights?: FusionWeights;
}

/** A search's hits and how they were ranked: never another mode, nor half an index, without saying so. */
export interface SearchAnswer {
  hits: SearchHit[];
  /** The ranking used: the one asked for, unless a side was missing. */
  mode: SearchMode;
  /** What was missing from this answer, in words for the user (absent when nothing was). */
  degraded?: string;
  /** Hits of the roles not shown (tests, examples...) that would have made the top k, by role. */
  heldBack?: Partial<Record<FileRole, number>>;
}


export interface RootStatus {
  root: string;
  indexDir: string;
  files: number;
  chunks: number;
  modelId: string;
  dimension: number;
  /** The index on disk is of another setup (e.g. "model nearby-code-base → nearby-code-small") and is not searched until rebuilt. */
  pendingRebuild?: string;
  /** Whether the last index run finished ("interrupted": its process died; the next run completes it). */
  lastRun?: RunRecord;
  /** What the open index holds in memory, per structure. */
  memory: StoreMemory;
}

/** A demoted role's hit ranks as if it scored this much of what it did. */
export const DEMOTED_WEIGHT = 0.7;

/** Hits re-ranked with the demoted roles' scores weighed down (the scores shown stay as they were). */
function demote(hits: RankedChunk[], roles: readonly FileRole[]): RankedChunk[] {
  const weight = (h: RankedChunk) => (roles.includes(h.role ?? 'source') ? DEMOTED_WEIGHT : 1) * h.score;
  return hits.map((h) => ({ h, w: weight(h) })).sort((a, b) => b.w - a.w).map(({ h }) => h);
}

/**
 * A selection's vector, as Find Similar compares it: chunked as the indexer would chunk it, and
 * a text larger than the model window represented by the mean of its chunks' vectors.
 */
export async function embedFragment(chunker: FileChunker, embedder: Embedder, relPath: string, text: string): Promise<Float32Array> {
  const chunks = await chunker.chunkFile(relPath, text, { maxTokens: embedder.info.maxTokens, tokens: embedder });
  const vectors = await embedder.embedDocuments(chunks.length > 0 ? chunks.map((c) => c.text) : [text]);
  const mean = new Float32Array(embedder.info.dimension);
  for (const v of vectors) for (let i = 0; i < mean.length; i++) mean[i]! += v[i]!;
  return normalizeInPlace(mean);
}

/** The file system's refusals to write the index, said so that the user knows what to do. */
function explainWriteError(err: unknown, dir: string): unknown {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const what: Record<string, string> = {
    ENOSPC: 'the disk is full (ENOSPC); free some space',
    EDQUOT: 'the disk quota is used up (EDQUOT); free some space',
    EACCES: 'permission denied (EACCES); make the folder writable or set another index folder',
    EPERM: 'the operation is not permitted (EPERM); make the folder writable or set another index folder',
    EROFS: 'the file system is read-only (EROFS); set another index folder',
  };
  if (!code || !what[code]) return err;
  const explained = new Error(`cannot write the index in ${dir}: ${what[code]}, then index again. What was saved before is kept and still searchable.`);
  (explained as NodeJS.ErrnoException).code = code;
  return explained;
}

/** One folder's index: its store plus the operations on it. The model and chunker are shared. */
export class RootIndex {
  private constructor(
    readonly root: string,
    private readonly store: IndexStore,
    private readonly embedder: Embedder,
    private readonly chunker: FileChunker,
    private readonly scan: ScanOptions,
    /** Why the index on disk was not loaded (another model, dimension or chunker), until it is rebuilt. */
    private pendingRebuild: string | undefined,
    /** Set when opening discarded some unreadable shards. */
    private readonly openNotes: string[],
    /** As recorded on disk, or as this process's own run left it. */
    private lastRun: RunRecord | undefined,
    private readonly parser?: FileParser,
  ) {
    this.keywordsFilled = this.fillKeywordGaps();
  }

  private lastRefresh = Date.now();
  /** Reading again the files whose keyword entries the index lacks (an index from before they were stored). */
  private keywordsFilled: Promise<void>;
  private filling = false;

  static async open(root: string, indexDir: string, embedder: Embedder, chunker: FileChunker, chunkerVersion: number, scan: ScanOptions = {}, parser?: FileParser): Promise<RootIndex> {
    const identity = { modelId: indexModelId(embedder.info), dimension: embedder.info.dimension, chunkerVersion };
    const opened = await IndexStore.open(indexDir, identity);
    const notes = opened.droppedShards.map((s) => `discarded unreadable shard ${s}; its files will be indexed again`);
    const lastRun = await readRunRecord(indexDir);
    return new RootIndex(path.resolve(root), opened.store, embedder, chunker, scan, opened.rebuiltBecause, notes, lastRun, parser);
  }

  async index(options: IndexRunOptions = {}): Promise<IndexSummary> {
    try {
      return await this.indexLocked(options);
    } catch (err) {
      throw explainWriteError(err, this.store.dir);
    }
  }

  private async indexLocked(options: IndexRunOptions): Promise<IndexSummary> {
    // One writer per index directory: fails fast (IndexLockedError) before anything is embedded.
    await this.store.acquireWriter();
    let summary: IndexSummary | undefined;
    let saved = false;
    // Only a run over the whole folder can complete it; a run over some paths leaves the record as it was.
    const whole = options.onlyPaths === undefined;
    let run: RunRecord | undefined;
    try {
      if (whole) run = this.lastRun = await writeRunStart(this.store.dir, (await readRunRecord(this.store.dir)) ?? this.lastRun);
      // Keyword entries read again from the files are written with this run.
      await this.keywordsFilled;
      await this.fillKeywordGaps();
      summary = await runIndex({ root: this.root, store: this.store, embedder: this.embedder, chunker: this.chunker, scan: this.scan, ...(this.parser ? { parser: this.parser } : {}) }, options);
    } finally {
      try {
        await this.store.releaseWriter();
        saved = true;
      } finally {
        // Written after the last commit: "complete" is never recorded over an index not all written.
        const state = !summary || !saved ? 'failed' : summary.cancelled ? 'cancelled' : 'complete';
        if (run) this.lastRun = await writeRunEnd(this.store.dir, run, state).catch(() => this.lastRun);
      }
    }
    summary.warnings.unshift(...this.openNotes);
    this.openNotes.length = 0;
    if (this.pendingRebuild) {
      summary.rebuiltBecause = this.pendingRebuild;
      summary.warnings.unshift(`rebuilding the index: ${this.pendingRebuild}`);
      // Even a cancelled run has replaced the old index: its first flush writes the new manifest.
      this.pendingRebuild = undefined;
    }
    return summary;
  }

  async search(query: string, options: SearchOptions = {}): Promise<SearchAnswer> {
    const vector = options.mode === 'lexical' ? undefined : await this.embedder.embedQuery(query);
    return this.searchQuery(query, vector, options);
  }

  /** `vector` is the query's embedding (shared by every root), absent in keyword-only mode. */
  async searchQuery(query: string, vector: Float32Array | undefined, options: SearchOptions = {}): Promise<SearchAnswer> {
    await this.catchUp();
    let mode = options.mode ?? 'hybrid';
    const notes: string[] = [];
    const incomplete = this.incompleteness();
    if (incomplete) notes.push(incomplete);
    const missing = this.store.keywordGaps.size;
    // Nothing waits for the files to be read again: the answer says what it lacks.
    if (missing > 0 && mode !== 'vector') {
      const files = this.store.fileCount;
      if (missing === files && mode === 'hybrid' && vector) {
        mode = 'vector';
        notes.push(`ranked by meaning only: the keyword index of ${this.root} is being rebuilt from the files (it was written by an older Nearby)`);
      } else notes.push(`keyword side incomplete: ${missing} of ${files} files in ${this.root} are still being read`);
    }
    const degraded = notes.length > 0 ? notes.join('; ') : undefined;
    const k = options.k ?? 10;
    const { roles, demoted } = options.filter?.roles ? { roles: [...options.filter.roles], demoted: [] } : rolesFor(query, options.include);
    const weights = options.weights ? { weights: options.weights } : {};
    let ranked = rankChunks(this.store, query, vector, { k: demoted.length > 0 ? 2 * k : k, mode, filter: { ...options.filter, roles }, ...weights });
    if (demoted.length > 0) ranked = demote(ranked, demoted).slice(0, k);
    ranked = explainHits(this.store, query, vector, ranked, this.embedder.info.calibration);
    const heldBack = roles.length < FILE_ROLES.length ? this.heldBack(rankChunks(this.store, query, vector, { k, mode, filter: { ...options.filter, roles: undefined }, ...weights }), roles) : undefined;
    return { hits: await this.withPreviews(ranked, options.previewLines, query), mode, ...(degraded ? { degraded } : {}), ...(heldBack ? { heldBack } : {}) };
  }

  /** Why the index does not yet cover the whole folder, if it does not. */
  private incompleteness(): string | undefined {
    if (this.pendingRebuild) return `the index of ${this.root} is being rebuilt (${this.pendingRebuild}); until then it has no results`;
    const run = this.lastRun;
    if (!run || run.lastCompleteAt) {
      return run?.state === 'interrupted' || run?.state === 'failed' ? `the last index run of ${this.root} did not finish; results may miss recent changes until the next run` : undefined;
    }
    const files = `${this.store.fileCount} file${this.store.fileCount === 1 ? '' : 's'} so far`;
    return run.state === 'running' ? `${this.root} is still being indexed (${files})` : `the index of ${this.root} covers only part of the folder (${files}): its first run did not finish`;
  }

  /** Per role not shown, how many of an unfiltered ranking's hits have it. */
  private heldBack(unfiltered: RankedChunk[], shown: readonly FileRole[]): Partial<Record<FileRole, number>> | undefined {
    const out: Partial<Record<FileRole, number>> = {};
    for (const hit of unfiltered) {
      const role = hit.role ?? 'source';
      if (!shown.includes(role)) out[role] = (out[role] ?? 0) + 1;
    }
    return Object.keys(out).length > 0 ? out : undefined;
  }

  async searchVector(vector: Float32Array, options: SearchOptions = {}): Promise<SearchHit[]> {
    await this.catchUp();
    const hits = this.store.search(vector, options.k ?? 10, options.filter).map((h) => ({ ...h, vectorScore: h.score }));
    return this.withPreviews(hits, options.previewLines);
  }

  /** Lines `start..end` of `relPath` as they are on disk now; undefined when unreadable. */
  async rangeText(relPath: string, start: number, end: number): Promise<string | undefined> {
    return (await readLines(path.join(this.root, relPath), start, end))?.join('\n');
  }

  /** Every line of `relPath` as it is on disk now; undefined when unreadable. */
  async fileLines(relPath: string): Promise<string[] | undefined> {
    return readLines(path.join(this.root, relPath), 1, Number.POSITIVE_INFINITY);
  }

  /** A text larger than the model window is represented by the mean of its chunks' vectors. */
  embedText(relPath: string, text: string): Promise<Float32Array> {
    return embedFragment(this.chunker, this.embedder, relPath, text);
  }

  /** The smallest indexed chunk of `relPath` that contains `line`. */
  chunkAround(relPath: string, line: number): { path: string; startLine: number; endLine: number } | undefined {
    let best: { path: string; startLine: number; endLine: number } | undefined;
    for (const c of this.store.chunksOf(relPath)) {
      if (c.startLine > line || c.endLine < line) continue;
      if (!best || c.endLine - c.startLine < best.endLine - best.startLine) best = { path: c.path, startLine: c.startLine, endLine: c.endLine };
    }
    return best;
  }

  /** The index's files, chunks, vectors and keyword entries, read-only: for whole-folder analyses (near-duplicates, the map). */
  get contents(): Pick<IndexStore, 'paths' | 'fileState' | 'chunksOf' | 'vectorFor' | 'lexical' | 'manifest' | 'dir'> {
    return this.store;
  }

  status(): RootStatus {
    return {
      root: this.root,
      indexDir: this.store.dir,
      files: this.store.fileCount,
      chunks: this.store.chunkCount,
      modelId: this.store.manifest.modelId,
      dimension: this.store.manifest.dimension,
      ...(this.pendingRebuild ? { pendingRebuild: this.pendingRebuild } : {}),
      ...(this.lastRun ? { lastRun: this.lastRun } : {}),
      memory: this.store.memory,
    };
  }

  /**
   * A reader (another process holds the writer lock, or none does) picks up what was written
   * since it last looked, at most once a second: two windows on one folder both see one's edits.
   */
  private async catchUp(): Promise<void> {
    if (!this.store.isWriter && Date.now() - this.lastRefresh >= 1000) {
      this.lastRefresh = Date.now();
      await this.store.refresh();
      this.lastRun = (await readRunRecord(this.store.dir)) ?? this.lastRun;
      if (this.store.keywordGaps.size > 0 && !this.filling) this.keywordsFilled = this.fillKeywordGaps();
    }
  }

  /**
   * Keyword entries the index lacks, from the files chunked again (in the background: searches
   * meanwhile say the keyword side is incomplete). Only a file that still cuts into exactly the
   * stored chunks is filled in, with the texts the indexer would have used (signature context
   * included); any other stays a gap, and the next index run reads it again.
   */
  private async fillKeywordGaps(): Promise<void> {
    if (this.filling) return this.keywordsFilled;
    this.filling = true;
    try {
      const pending = [...this.store.keywordGaps];
      const worker = async () => {
        for (let p = pending.pop(); p !== undefined; p = pending.pop()) {
          const chunks = this.store.chunksOf(p);
          const text = chunks.length > 0 ? await readText(path.join(this.root, p)) : undefined;
          if (text === undefined) continue;
          const again = await this.chunker.chunkFile(p, text, { maxTokens: this.embedder.info.maxTokens, tokens: this.embedder });
          const same = again.length === chunks.length && again.every((c, i) => c.hash === chunks[i]!.hash);
          // Still the same chunks after the read: an index run may have replaced them meanwhile.
          if (same && this.store.keywordGaps.has(p) && this.store.chunksOf(p) === chunks) this.store.putKeywords(p, again.map((c) => c.text));
        }
      };
      await Promise.all(Array.from({ length: 8 }, worker));
    } finally {
      this.filling = false;
    }
  }

  /** Each hit's preview: its definition's line and the lines that matched `query` (see `previewOf`). */
  async withPreviews(hits: RankedChunk[], previewLines = 0, query?: string): Promise<SearchHit[]> {
    if (previewLines <= 0) return hits;
    const asked = query ? queryTerms(query) : [];
    return Promise.all(
      hits.map(async (hit): Promise<SearchHit> => {
        const first = Math.max(1, hit.startLine - SIGNATURE_LOOKBACK);
        const lines = await readLines(path.join(this.root, hit.path), first, hit.endLine + 3);
        if (!lines) return hit;
        const { text, at } = previewOf(lines, first, hit, hit.matched?.length ? hit.matched : asked, previewLines);
        return { ...hit, preview: text, previewAt: at };
      }),
    );
  }
}
