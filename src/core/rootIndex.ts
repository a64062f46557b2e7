import * as path from 'node:path';
import { normalizeInPlace, type Embedder } from './embed/embedder';
import type { FileParser } from './index/fileParser';
import { runIndex, type FileChunker, type IndexRunOptions } from './index/indexer';
import type { IndexSummary } from './index/progress';
import type { ScanOptions } from './scan/scanner';
import type { RankedChunk, SearchMode } from './search/hybrid';
import { LexicalIndex } from './search/lexicalIndex';
import { rankChunks } from './search/rank';
import type { Likeness } from './dupes';
import { chunkTexts, readLines } from './search/readLines';
import { IndexStore } from './store/indexStore';
import type { SearchFilter } from './store/records';

export interface SearchHit extends RankedChunk {
  /** The first lines of the chunk, for display. Absent if the file can no longer be read. */
  preview?: string;
  /** Find Similar: set when the near-duplicate detectors would group the hit with the selection. */
  likeness?: Likeness;
}

export interface SearchOptions {
  k?: number;
  filter?: SearchFilter;
  /** Lines of preview per hit; 0 for none. */
  previewLines?: number;
  /** Default `hybrid`: keyword and vector rankings fused. */
  mode?: SearchMode;
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
}

const PREVIEW_LINE_CHARS = 400;

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
    /** Files another process re-indexed, whose keyword entries are still to be brought in step. */
    private readonly reloaded: Set<string>,
    private readonly parser?: FileParser,
  ) {
    this.lexicalReady = this.fillLexical([...store.paths()]).then(() => {
      this.lexicalFilled = true;
    });
  }

  /** Keyword index over the same chunks, rebuilt from the files at open and kept in step by the indexer. */
  private readonly lexical = new LexicalIndex();
  private readonly lexicalReady: Promise<void>;
  private lexicalFilled = false;
  private lastRefresh = Date.now();

  static async open(root: string, indexDir: string, embedder: Embedder, chunker: FileChunker, chunkerVersion: number, scan: ScanOptions = {}, parser?: FileParser): Promise<RootIndex> {
    const identity = { modelId: embedder.info.id, dimension: embedder.info.dimension, chunkerVersion };
    const reloaded = new Set<string>();
    const opened = await IndexStore.open(indexDir, identity, { onReloaded: (paths) => paths.forEach((p) => reloaded.add(p)) });
    const notes = opened.droppedShards.map((s) => `discarded unreadable shard ${s}; its files will be indexed again`);
    return new RootIndex(path.resolve(root), opened.store, embedder, chunker, scan, opened.rebuiltBecause, notes, reloaded, parser);
  }

  async index(options: IndexRunOptions = {}): Promise<IndexSummary> {
    await this.lexicalReady;
    // One writer per index directory: fails fast (IndexLockedError) before anything is embedded.
    await this.store.acquireWriter();
    let summary: IndexSummary;
    try {
      await this.syncLexical();
      summary = await runIndex({ root: this.root, store: this.store, embedder: this.embedder, chunker: this.chunker, scan: this.scan, lexical: this.lexical, ...(this.parser ? { parser: this.parser } : {}) }, options);
    } finally {
      await this.store.releaseWriter();
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

  async search(query: string, options: SearchOptions = {}): Promise<SearchHit[]> {
    const vector = options.mode === 'lexical' ? undefined : await this.embedder.embedQuery(query);
    return this.searchQuery(query, vector, options);
  }

  /** `vector` is the query's embedding (shared by every root), absent in keyword-only mode. */
  async searchQuery(query: string, vector: Float32Array | undefined, options: SearchOptions = {}): Promise<SearchHit[]> {
    await this.catchUp();
    let mode = options.mode ?? 'hybrid';
    // Reopening a large index fills the keyword side from the files (seconds on 10k files):
    // meanwhile searches rank by meaning alone rather than wait; keyword-only ones wait.
    if (!this.lexicalFilled) {
      if (vector && mode === 'hybrid') mode = 'vector';
      else if (mode === 'lexical') await this.lexicalReady;
    }
    const ranked = rankChunks(this.store, this.lexical, query, vector, { k: options.k ?? 10, mode, ...(options.filter ? { filter: options.filter } : {}) });
    return this.withPreviews(ranked, options.previewLines);
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

  /** A text larger than the model window is represented by the mean of its chunks' vectors. */
  async embedText(relPath: string, text: string): Promise<Float32Array> {
    const chunks = await this.chunker.chunkFile(relPath, text, { maxTokens: this.embedder.info.maxTokens, tokens: this.embedder });
    const vectors = await this.embedder.embedDocuments(chunks.length > 0 ? chunks.map((c) => c.text) : [text]);
    const mean = new Float32Array(this.embedder.info.dimension);
    for (const v of vectors) for (let i = 0; i < mean.length; i++) mean[i]! += v[i]!;
    return normalizeInPlace(mean);
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

  /** The index's files, chunks and vectors, read-only: for whole-folder analyses (near-duplicates). */
  get contents(): Pick<IndexStore, 'paths' | 'fileState' | 'chunksOf' | 'vectorFor'> {
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
    }
    await this.syncLexical();
  }

  /** Keyword entries of files another process re-indexed, read again from the files. */
  private async syncLexical(): Promise<void> {
    if (this.reloaded.size === 0) return;
    const paths = [...this.reloaded];
    this.reloaded.clear();
    await this.fillLexical(paths);
  }

  /** Reads the given indexed files once each and cuts them at their stored chunk ranges. */
  private async fillLexical(pending: string[]): Promise<void> {
    const worker = async () => {
      for (let p = pending.pop(); p !== undefined; p = pending.pop()) {
        const chunks = this.store.chunksOf(p);
        const lines = chunks.length > 0 ? await readLines(path.join(this.root, p), 1, Number.MAX_SAFE_INTEGER) : undefined;
        // Unreadable or gone since it was indexed: the next index run drops it.
        if (lines) {
          const texts = chunkTexts(lines, chunks);
          this.lexical.putFile(p, chunks, texts);
        }
        else this.lexical.removeFile(p);
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
  }

  private async withPreviews(hits: RankedChunk[], previewLines = 0): Promise<SearchHit[]> {
    if (previewLines <= 0) return hits;
    return Promise.all(
      hits.map(async (hit): Promise<SearchHit> => {
        const lines = await readLines(path.join(this.root, hit.path), hit.startLine, Math.min(hit.endLine, hit.startLine + previewLines - 1));
        // A hit inside an overlong line (a data literal) would otherwise carry the whole line.
        return lines ? { ...hit, preview: lines.map((l) => (l.length > PREVIEW_LINE_CHARS ? `${l.slice(0, PREVIEW_LINE_CHARS)}…` : l)).join('\n') } : hit;
      }),
    );
  }
}
