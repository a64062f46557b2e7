import * as path from 'node:path';
import { normalizeInPlace, type Embedder } from './embed/embedder';
import { runIndex, type FileChunker, type IndexRunOptions } from './index/indexer';
import type { IndexSummary } from './index/progress';
import type { ScanOptions } from './scan/scanner';
import { readLines } from './search/readLines';
import { IndexStore } from './store/indexStore';
import type { ScoredChunk, SearchFilter } from './store/records';

export interface SearchHit extends ScoredChunk {
  /** The first lines of the chunk, for display. Absent if the file can no longer be read. */
  preview?: string;
}

export interface SearchOptions {
  k?: number;
  filter?: SearchFilter;
  /** Lines of preview per hit; 0 for none. */
  previewLines?: number;
}

export interface RootStatus {
  root: string;
  indexDir: string;
  files: number;
  chunks: number;
  modelId: string;
  dimension: number;
}

/** One folder's index: its store plus the operations on it. The model and chunker are shared. */
export class RootIndex {
  private constructor(
    readonly root: string,
    private readonly store: IndexStore,
    private readonly embedder: Embedder,
    private readonly chunker: FileChunker,
    private readonly scan: ScanOptions,
    /** Set when opening discarded an old index or some unreadable shards. */
    readonly openNotes: string[],
  ) {}

  static async open(root: string, indexDir: string, embedder: Embedder, chunker: FileChunker, chunkerVersion: number, scan: ScanOptions = {}): Promise<RootIndex> {
    const identity = { modelId: embedder.info.id, dimension: embedder.info.dimension, chunkerVersion };
    const opened = await IndexStore.open(indexDir, identity);
    const notes = opened.droppedShards.map((s) => `discarded unreadable shard ${s}; its files will be indexed again`);
    if (opened.rebuiltBecause) notes.unshift(`rebuilding the index: ${opened.rebuiltBecause}`);
    return new RootIndex(path.resolve(root), opened.store, embedder, chunker, scan, notes);
  }

  async index(options: IndexRunOptions = {}): Promise<IndexSummary> {
    const summary = await runIndex({ root: this.root, store: this.store, embedder: this.embedder, chunker: this.chunker, scan: this.scan }, options);
    if (this.openNotes.length > 0) {
      const rebuilt = this.openNotes.find((n) => n.startsWith('rebuilding'));
      if (rebuilt) summary.rebuiltBecause = rebuilt.replace('rebuilding the index: ', '');
      summary.warnings.unshift(...this.openNotes);
      this.openNotes.length = 0;
    }
    return summary;
  }

  async search(query: string, options: SearchOptions = {}): Promise<SearchHit[]> {
    return this.searchVector(await this.embedder.embedQuery(query), options);
  }

  async searchVector(vector: Float32Array, options: SearchOptions = {}): Promise<SearchHit[]> {
    return this.withPreviews(this.store.search(vector, options.k ?? 10, options.filter), options.previewLines);
  }

  /** The vector of lines `start..end` of `relPath`, as a chunk of code would be embedded. */
  async embedRange(relPath: string, start: number, end: number): Promise<Float32Array> {
    const lines = await readLines(path.join(this.root, relPath), start, end);
    if (!lines || lines.join('').trim() === '') throw new Error(`Nothing to compare: ${relPath}:${start}-${end} is empty or unreadable.`);
    return this.embedText(relPath, lines.join('\n'));
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

  status(): RootStatus {
    return {
      root: this.root,
      indexDir: this.store.dir,
      files: this.store.fileCount,
      chunks: this.store.chunkCount,
      modelId: this.store.manifest.modelId,
      dimension: this.store.manifest.dimension,
    };
  }

  private async withPreviews(hits: ScoredChunk[], previewLines = 0): Promise<SearchHit[]> {
    if (previewLines <= 0) return hits;
    return Promise.all(
      hits.map(async (hit): Promise<SearchHit> => {
        const lines = await readLines(path.join(this.root, hit.path), hit.startLine, Math.min(hit.endLine, hit.startLine + previewLines - 1));
        return lines ? { ...hit, preview: lines.join('\n') } : hit;
      }),
    );
  }
}
