import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { removeStaleTemporaries, writeFileAtomic } from './atomicWrite';
import type { FileState, IndexIdentity, IndexManifest, ScoredChunk, SearchFilter, StoredChunk } from './records';
import { VectorTable } from './vectorTable';
import { decodeShard, encodeShard, type ShardFile } from './vectraShard';

export const STORE_FORMAT_VERSION = 1;
const DEFAULT_SHARDS = 32;

export interface OpenResult {
  store: IndexStore;
  /** Why the previous index was discarded, if it was. */
  rebuiltBecause?: string;
  /** Shards that could not be read; their files will simply be indexed again. */
  droppedShards: string[];
}

/**
 * The index on disk: a manifest plus N shards, each a Vectra index file holding the chunks of the
 * files whose path hashes to it. A change rewrites only the shards it touches, each atomically, so
 * a killed writer leaves every file either in its old or its new state.
 */
export class IndexStore {
  private readonly shards: Map<string, ShardFile>[];
  private readonly dirty = new Set<number>();
  private readonly byHash = new Map<string, Float32Array>();
  private table: VectorTable | undefined;

  private constructor(
    readonly dir: string,
    readonly manifest: IndexManifest,
  ) {
    this.shards = Array.from({ length: manifest.shardCount }, () => new Map());
  }

  static async open(dir: string, identity: IndexIdentity, shardCount = DEFAULT_SHARDS): Promise<OpenResult> {
    await fs.mkdir(path.join(dir, 'shards'), { recursive: true });
    await removeStaleTemporaries(dir);
    await removeStaleTemporaries(path.join(dir, 'shards'));
    const existing = await readManifest(dir);
    const mismatch = existing ? describeMismatch(existing, identity) : undefined;
    if (!existing || mismatch) {
      // Shards go first: a crash before the new manifest lands leaves an empty, consistent index.
      await fs.rm(path.join(dir, 'shards'), { recursive: true, force: true });
      await fs.mkdir(path.join(dir, 'shards'), { recursive: true });
      const manifest: IndexManifest = { formatVersion: STORE_FORMAT_VERSION, ...identity, shardCount, createdAt: new Date().toISOString() };
      await writeFileAtomic(path.join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2));
      const store = new IndexStore(dir, manifest);
      return mismatch ? { store, rebuiltBecause: mismatch, droppedShards: [] } : { store, droppedShards: [] };
    }
    const store = new IndexStore(dir, existing);
    const droppedShards = await store.loadShards();
    return { store, droppedShards };
  }

  private async loadShards(): Promise<string[]> {
    const dropped: string[] = [];
    await Promise.all(
      this.shards.map(async (shard, i) => {
        let json: string;
        try {
          json = await fs.readFile(this.shardPath(i), 'utf8');
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT') dropped.push(`${this.shardName(i)}: ${(err as Error).message}`);
          return;
        }
        try {
          const contents = decodeShard(json);
          if (contents.modelId !== this.manifest.modelId || contents.dimension !== this.manifest.dimension) {
            throw new Error(`written by model ${contents.modelId}/${contents.dimension}`);
          }
          for (const [p, file] of contents.files) {
            shard.set(p, file);
            file.chunks.forEach((c, j) => this.byHash.set(c.hash, file.vectors[j]!));
          }
        } catch (err) {
          dropped.push(`${this.shardName(i)}: ${(err as Error).message}`);
          this.dirty.add(i);
        }
      }),
    );
    return dropped;
  }

  get fileCount(): number {
    return this.shards.reduce((n, s) => n + s.size, 0);
  }

  get chunkCount(): number {
    let n = 0;
    for (const shard of this.shards) for (const f of shard.values()) n += f.chunks.length;
    return n;
  }

  *paths(): IterableIterator<string> {
    for (const shard of this.shards) yield* shard.keys();
  }

  fileState(p: string): FileState | undefined {
    return this.shardOf(p).get(p)?.state;
  }

  chunksOf(p: string): readonly StoredChunk[] {
    return this.shardOf(p).get(p)?.chunks ?? [];
  }

  /** A stored vector for identical text anywhere in the index: moved or renamed code is not re-embedded. */
  vectorFor(hash: string): Float32Array | undefined {
    return this.byHash.get(hash);
  }

  putFile(p: string, state: FileState, chunks: StoredChunk[], vectors: Float32Array[]): void {
    if (chunks.length !== vectors.length) throw new Error(`putFile(${p}): ${chunks.length} chunks but ${vectors.length} vectors`);
    for (const v of vectors) {
      if (v.length !== this.manifest.dimension) throw new Error(`putFile(${p}): vector of ${v.length} dimensions, index has ${this.manifest.dimension}`);
    }
    this.shardOf(p).set(p, { state, chunks, vectors });
    chunks.forEach((c, i) => this.byHash.set(c.hash, vectors[i]!));
    this.touch(p);
  }

  removeFile(p: string): boolean {
    const removed = this.shardOf(p).delete(p);
    if (removed) this.touch(p);
    return removed;
  }

  /** Exact top-k by cosine (vectors are unit length) over the chunks that pass the filter. */
  search(query: Float32Array, k: number, filter: SearchFilter = {}): ScoredChunk[] {
    this.table ??= VectorTable.build(this.manifest.dimension, this.allFiles());
    return this.table.topK(query, k, filter);
  }

  /** Writes every changed shard. Safe to call often: untouched shards are not rewritten. */
  async flush(): Promise<void> {
    const pending = [...this.dirty];
    this.dirty.clear();
    try {
      for (const i of pending) {
        const contents = { modelId: this.manifest.modelId, dimension: this.manifest.dimension, files: this.shards[i]! };
        await fs.mkdir(path.dirname(this.shardPath(i)), { recursive: true });
        await writeFileAtomic(this.shardPath(i), encodeShard(contents));
      }
    } catch (err) {
      for (const i of pending) this.dirty.add(i);
      throw err;
    }
    this.pruneVectorCache();
  }

  get hasUnsavedChanges(): boolean {
    return this.dirty.size > 0;
  }

  private *allFiles(): IterableIterator<ShardFile> {
    for (const shard of this.shards) yield* shard.values();
  }

  /** Drops vectors of text that no longer occurs anywhere, after a flush made deletions final. */
  private pruneVectorCache(): void {
    const live = new Set<string>();
    for (const f of this.allFiles()) for (const c of f.chunks) live.add(c.hash);
    for (const hash of this.byHash.keys()) if (!live.has(hash)) this.byHash.delete(hash);
  }

  private touch(p: string): void {
    this.dirty.add(this.shardIndex(p));
    this.table = undefined;
  }

  private shardOf(p: string): Map<string, ShardFile> {
    return this.shards[this.shardIndex(p)]!;
  }

  private shardIndex(p: string): number {
    // FNV-1a: stable across runs and platforms, unlike anything seeded.
    let h = 0x811c9dc5;
    for (let i = 0; i < p.length; i++) h = Math.imul(h ^ p.charCodeAt(i), 0x01000193);
    return (h >>> 0) % this.manifest.shardCount;
  }

  private shardName(i: number): string {
    return `shard-${String(i).padStart(3, '0')}`;
  }

  private shardPath(i: number): string {
    return path.join(this.dir, 'shards', this.shardName(i), 'index.json');
  }
}

async function readManifest(dir: string): Promise<IndexManifest | undefined> {
  try {
    return JSON.parse(await fs.readFile(path.join(dir, 'manifest.json'), 'utf8')) as IndexManifest;
  } catch {
    return undefined;
  }
}

function describeMismatch(m: IndexManifest, id: IndexIdentity): string | undefined {
  if (m.formatVersion !== STORE_FORMAT_VERSION) return `index format ${m.formatVersion} → ${STORE_FORMAT_VERSION}`;
  if (m.modelId !== id.modelId) return `model ${m.modelId} → ${id.modelId}`;
  if (m.dimension !== id.dimension) return `dimension ${m.dimension} → ${id.dimension}`;
  if (m.chunkerVersion !== id.chunkerVersion) return `chunker version ${m.chunkerVersion} → ${id.chunkerVersion}`;
  return undefined;
}
