import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { hashString } from '../charTable';
import type { FileTerms } from '../search/codeTokens';
import { LexicalIndex } from '../search/lexicalIndex';
import { removeStaleTemporaries, writeFileAtomic } from './atomicWrite';
import { decodeKeywords, encodeKeywords, entriesInHeader, KEYWORD_HEADER_BYTES } from './keywordFile';
import type { FileState, IndexIdentity, IndexManifest, ScoredChunk, SearchFilter, StoredChunk } from './records';
import { RowsByHash } from './rowsByHash';
import { VectorTable } from './vectorTable';
import { encodeShard, ShardDecoder, type DecodedFile, type DecodedShard } from './vectraShard';
import { WriterLock, type WriterLockOptions } from './writerLock';

export const STORE_FORMAT_VERSION = 1;
const DEFAULT_SHARDS = 32;
const DEFAULT_FLUSH_DELAY_MS = 500;

export interface StoreOptions {
  shardCount?: number;
  /**
   * Changes are written this long after the last one (debounced), in the background. Default: 500
   * ms while the writer lock is held for a run (`acquireWriter`), otherwise only on `flush`.
   */
  flushDelayMs?: number;
  lock?: WriterLockOptions;
  /** Where a failed background write is reported (it is retried on the next flush). */
  onBackgroundError?: (err: Error) => void;
  /**
   * Told the paths whose chunks changed because another process rewrote their shards, whenever
   * this store reads those shards again (`refresh`, or before writing).
   */
  onReloaded?: (paths: string[]) => void;
}

/** Memory of an open index: typed arrays measured exactly, object structures estimated or counted. */
export interface StoreMemory {
  /** The int8 vectors, their scales and cached filter masks. */
  vectorTableBytes: number;
  /** Keyword postings, per-chunk term lists and search scratch. */
  keywordIndexBytes: number;
  /** The keyword vocabulary's strings and map entries (estimated). */
  keywordVocabularyBytesEstimate: number;
  /** Chunk records (path, lines, symbol...) kept as objects: counted, not sized. */
  chunkRecords: number;
}

export interface OpenResult {
  store: IndexStore;
  /** Why the previous index was discarded, if it was. */
  rebuiltBecause?: string;
  /** Shards that could not be read; their files will simply be indexed again. */
  droppedShards: string[];
}

interface FileEntry {
  state: FileState;
  chunks: StoredChunk[];
  /** Row of each chunk in the vector table. */
  rows: number[];
}

/**
 * The index on disk: a manifest plus N shards, each a Vectra index file holding the chunks of the
 * files whose path hashes to it, and beside it a keyword file with their terms (named in the
 * shard, written first under a new name: the shard's rename commits both). A change rewrites only
 * the shards it touches, each atomically, so a killed writer leaves every file either in its old
 * or its new state, vectors and keywords alike.
 *
 * Any number of processes may read; writing takes the directory's writer lock (see WriterLock),
 * either for a whole run (`acquireWriter` … `releaseWriter`) or just around one `flush`. Changes
 * are searchable as soon as `putFile` returns and reach the disk on the next flush, which happens
 * by itself shortly after the last change.
 */
export class IndexStore {
  private readonly shards: Map<string, FileEntry>[];
  /** Shards to write: changed here since last written, or unreadable on disk. */
  private readonly dirty = new Set<number>();
  /** Per shard, the paths changed here and not yet written: they win over another writer's version. */
  private readonly changed: Set<string>[];
  /** Per shard, bumped on every change: a write only clears what it actually wrote. */
  private readonly versions: number[];
  /** Stamp (inode, size, mtime) of each shard file as last read or written by this process. */
  private readonly stamps: (string | undefined)[];
  /** Hash → a row holding that text's vector; built on first use, so that opening an index does not wait for it. */
  private byHash: RowsByHash | undefined;
  /** Rows no longer searchable whose vectors stay readable (for reuse) until the next full flush. */
  private retired: { row: number; hash: string }[] = [];
  private readonly table: VectorTable;
  /** The keyword side of the same chunks, kept with them on disk. */
  readonly lexical = new LexicalIndex();
  /** Files whose keyword entries could not be read (an index from before they were stored, or a damaged keyword file). */
  private readonly gaps = new Set<string>();
  /** Files whose keyword entries were filled in while another process held the lock: written once this one holds it. */
  private readonly unsavedKeywords = new Set<string>();
  /** Per shard, the keyword file its `index.json` on disk names. */
  private readonly keywordFiles: (string | undefined)[];
  private files = 0;
  private lock: WriterLock | undefined;
  private holdLock = false;
  private timer: NodeJS.Timeout | undefined;
  /** Open `deferWrites` calls: while any is, changes reach the disk only by `flush`. */
  private deferring = 0;
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    readonly dir: string,
    private current: IndexManifest,
    /** The disk holds another index (or none) that the first flush replaces. */
    private resetPending: boolean,
    private readonly options: StoreOptions,
  ) {
    this.shards = Array.from({ length: current.shardCount }, () => new Map());
    this.changed = Array.from({ length: current.shardCount }, () => new Set());
    this.versions = new Array<number>(current.shardCount).fill(0);
    this.stamps = new Array<string | undefined>(current.shardCount);
    this.keywordFiles = new Array<string | undefined>(current.shardCount);
    this.table = new VectorTable(current.dimension);
  }

  /**
   * Opens the index for reading; nothing is written (and no lock taken) until the first flush. An
   * index of another model, dimension or chunker is not loaded: the store starts empty and the
   * first flush replaces it.
   */
  static async open(dir: string, identity: IndexIdentity, options: number | StoreOptions = {}): Promise<OpenResult> {
    const opts = typeof options === 'number' ? { shardCount: options } : options;
    const { manifest: existing, damaged } = await readManifest(dir);
    const mismatch = damaged ?? (existing ? describeMismatch(existing, identity) : undefined);
    if (!existing || mismatch) {
      const manifest: IndexManifest = { formatVersion: STORE_FORMAT_VERSION, ...identity, shardCount: opts.shardCount ?? DEFAULT_SHARDS, createdAt: new Date().toISOString() };
      const store = new IndexStore(dir, manifest, true, opts);
      return mismatch ? { store, rebuiltBecause: mismatch, droppedShards: [] } : { store, droppedShards: [] };
    }
    const store = new IndexStore(dir, existing, false, opts);
    store.lexical.deferPostings();
    store.lexical.reserve(await store.keywordEntriesOnDisk());
    const droppedShards = await store.loadShards(store.shards.map((_, i) => i));
    store.trimMemory();
    return { store, droppedShards };
  }

  /** Gives back the room the in-memory indexes keep for growth: call when no large change is coming. */
  trimMemory(): void {
    this.lexical.trim();
  }

  get manifest(): IndexManifest {
    return this.current;
  }

  get fileCount(): number {
    return this.files;
  }

  get chunkCount(): number {
    return this.table.size;
  }

  /** What the index holds in memory, per structure (see `StoreMemory`). */
  get memory(): StoreMemory {
    const keywords = this.lexical.memory;
    return { vectorTableBytes: this.table.memoryBytes, keywordIndexBytes: keywords.arrays, keywordVocabularyBytesEstimate: keywords.vocabulary, chunkRecords: this.table.size };
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
    const row = this.hashIndex().get(hash);
    return row === undefined ? undefined : this.table.vector(row);
  }

  /**
   * Replaces a file's chunks; searchable as soon as this returns. `terms` are the chunks' texts or
   * their terms for the keyword side; without them the chunks have no keywords (vector-only uses).
   */
  putFile(p: string, state: FileState, chunks: StoredChunk[], vectors: Float32Array[], terms?: readonly string[] | FileTerms): void {
    if (chunks.length !== vectors.length) throw new Error(`putFile(${p}): ${chunks.length} chunks but ${vectors.length} vectors`);
    for (const v of vectors) {
      if (v.length !== this.current.dimension) throw new Error(`putFile(${p}): vector of ${v.length} dimensions, index has ${this.current.dimension}`);
    }
    const shard = this.shardOf(p);
    const old = shard.get(p);
    // New rows first: a vector passed in may be a view of an old row of this very file.
    const rows = chunks.map((c, i) => this.table.add(c, vectors[i]!));
    if (old) this.retireRows(old);
    else this.files++;
    shard.set(p, { state, chunks, rows });
    if (this.byHash) chunks.forEach((c, i) => this.byHash!.added(c.hash, rows[i]!));
    this.lexical.putFile(p, chunks, terms ?? chunks.map(() => ''));
    this.gaps.delete(p);
    this.unsavedKeywords.delete(p);
    this.touch(p);
  }

  /** Paths whose keyword entries are missing, until `putKeywords` fills them in. */
  get keywordGaps(): ReadonlySet<string> {
    return this.gaps;
  }

  /**
   * Fills in the keyword entries of a stored file from its chunks' texts (read again from the file:
   * `keywordGaps`). A writer also writes them to disk with its next flush.
   */
  putKeywords(p: string, texts: readonly string[]): void {
    const chunks = this.chunksOf(p);
    if (chunks.length !== texts.length) throw new Error(`putKeywords(${p}): ${chunks.length} chunks but ${texts.length} texts`);
    this.lexical.putFile(p, chunks, texts);
    this.gaps.delete(p);
    if (this.lock?.held) this.touch(p);
    else this.unsavedKeywords.add(p);
  }

  removeFile(p: string): boolean {
    const shard = this.shardOf(p);
    const old = shard.get(p);
    if (!old) return false;
    this.retireRows(old);
    shard.delete(p);
    this.files--;
    this.lexical.removeFile(p);
    this.gaps.delete(p);
    this.unsavedKeywords.delete(p);
    this.touch(p);
    return true;
  }

  /** Exact top-k by cosine (vectors are unit length) over the chunks that pass the filter. */
  search(query: Float32Array, k: number, filter: SearchFilter = {}): ScoredChunk[] {
    return this.table.topK(query, k, filter);
  }

  /**
   * Takes the writer lock and keeps it until `releaseWriter` or `close`. Throws IndexLockedError
   * when another live process holds it. Shards another writer changed since this process read
   * them are read again first, so what this process writes never undoes theirs.
   */
  async acquireWriter(): Promise<void> {
    this.holdLock = true;
    try {
      await this.serialized(() => this.takeLock());
    } catch (err) {
      this.holdLock = false;
      throw err;
    }
  }

  /** Writes what is pending, then lets other processes write. */
  async releaseWriter(): Promise<void> {
    try {
      await this.flush();
    } finally {
      this.holdLock = false;
      await this.serialized(() => this.dropLock());
    }
  }

  get isWriter(): boolean {
    return this.lock?.held ?? false;
  }

  /**
   * Holds back the debounced background writes until the returned function is called: for a
   * caller that flushes on its own schedule (an indexing run), they would only write the same
   * shards again in between, each time the whole shard.
   */
  deferWrites(): () => void {
    this.deferring++;
    this.cancelTimer();
    let resumed = false;
    return () => {
      if (resumed) return;
      resumed = true;
      if (--this.deferring === 0 && this.dirty.size > 0) this.scheduleWrite();
    };
  }

  /** Writes every changed shard now (taking the writer lock for the write if not held). */
  async flush(): Promise<void> {
    this.cancelTimer();
    await this.serialized(async () => {
      // Only removals made before this write began are on disk when it ends: an indexing run
      // goes on changing files while a commit is on its way.
      const final = this.retired.length;
      await this.writeDirty();
      this.recycleRetired(final);
    });
  }

  /** Reads again the shards another process rewrote since this one read them (readers stay current). */
  async refresh(): Promise<string[]> {
    return this.serialized(() => this.reloadChanged());
  }

  /** Flushes, releases the lock, stops the background writer. */
  async close(): Promise<void> {
    this.cancelTimer();
    this.holdLock = false;
    try {
      if (this.dirty.size > 0 || this.resetPending) await this.flush();
    } finally {
      await this.serialized(() => this.dropLock());
    }
  }

  get hasUnsavedChanges(): boolean {
    return this.dirty.size > 0;
  }

  private async writeDirty(): Promise<void> {
    if (this.dirty.size === 0 && !(this.resetPending && this.holdLock)) return;
    const tookLock = !this.lock;
    if (tookLock) await this.takeLock();
    try {
      await this.lock!.assertHeld();
      if (this.resetPending) await this.resetOnDisk();
      const pending = [...this.dirty].sort((a, b) => a - b);
      for (const i of pending) {
        const version = this.versions[i]!;
        const files = [...this.shards[i]!].map(([p, f]): [string, { state: FileState; chunks: StoredChunk[]; ints: (j: number) => Int8Array }] => [p, { state: f.state, chunks: f.chunks, ints: (j) => this.table.ints(f.rows[j]!) }]);
        const file = this.shardPath(i);
        const dir = path.dirname(file);
        await fs.mkdir(dir, { recursive: true });
        // The keyword file goes first, under a name of its own: until the shard naming it lands,
        // readers and a crash see the old shard with the old keyword file, still there.
        const keywords = `keywords-${randomBytes(6).toString('hex')}.bin`;
        await writeFileAtomic(path.join(dir, keywords), encodeKeywords(files.filter(([p]) => !this.gaps.has(p)).map(([p]) => p), this.lexical));
        await writeFileAtomic(file, encodeShard(this.current.modelId, this.current.dimension, files, keywords));
        const previous = this.keywordFiles[i];
        this.keywordFiles[i] = keywords;
        await removeKeywordFiles(dir, [keywords, previous]);
        this.stamps[i] = await stampOf(file);
        // Changes made while this write was on its way stay pending for the next one.
        if (this.versions[i] === version) {
          this.dirty.delete(i);
          this.changed[i]!.clear();
        }
      }
    } finally {
      if (tookLock && !this.holdLock) await this.dropLock();
    }
  }

  private async takeLock(): Promise<void> {
    if (this.lock?.held) return;
    this.lock = await WriterLock.acquire(this.dir, this.options.lock);
    try {
      // Only the writer may remove temporaries: a reader could delete one a live writer is about to rename.
      await removeStaleTemporaries(this.dir);
      await removeStaleTemporaries(path.join(this.dir, 'shards'));
      await this.reloadChanged();
      // Keyword entries filled in as a reader reach the disk now (reloading dropped those another writer replaced).
      for (const p of this.unsavedKeywords) if (this.shardOf(p).has(p)) this.touch(p);
      this.unsavedKeywords.clear();
    } catch (err) {
      await this.dropLock();
      throw err;
    }
  }

  private async dropLock(): Promise<void> {
    const lock = this.lock;
    this.lock = undefined;
    await lock?.release();
  }

  /** Replaces whatever index the directory held with this (so far in-memory) one. */
  private async resetOnDisk(): Promise<void> {
    // Shards go first: a crash before the new manifest lands leaves the old manifest over no
    // shards, an empty and consistent index that the next open rebuilds.
    await fs.rm(path.join(this.dir, 'shards'), { recursive: true, force: true });
    await fs.mkdir(path.join(this.dir, 'shards'), { recursive: true });
    await writeFileAtomic(path.join(this.dir, 'manifest.json'), JSON.stringify(this.current, null, 2));
    this.stamps.fill(undefined);
    this.resetPending = false;
  }

  private async reloadChanged(): Promise<string[]> {
    const onDisk = (await readManifest(this.dir)).manifest;
    if (!onDisk) return [];
    if (this.resetPending) {
      // Another process may have created or rebuilt the index meanwhile; adopt it if it fits.
      if (describeMismatch(onDisk, this.current) || onDisk.shardCount !== this.current.shardCount) return [];
      this.current = onDisk;
      this.resetPending = false;
      this.stamps.fill(undefined);
    } else if (onDisk.createdAt !== this.current.createdAt) {
      if (describeMismatch(onDisk, this.current) || onDisk.shardCount !== this.current.shardCount) {
        // Another process rebuilt it for another model: the next flush puts this one back.
        this.resetPending = true;
        for (let i = 0; i < this.shards.length; i++) if (this.shards[i]!.size > 0) this.dirty.add(i);
        return [];
      }
      this.current = onDisk;
      this.stamps.fill(undefined);
    }
    const changed: number[] = [];
    await Promise.all(
      this.shards.map(async (_, i) => {
        if ((await stampOf(this.shardPath(i))) !== this.stamps[i]) changed.push(i);
      }),
    );
    const reloaded = new Set<string>();
    const dropped = await this.loadShards(changed, reloaded);
    if (reloaded.size > 0) this.options.onReloaded?.([...reloaded]);
    return dropped;
  }

  /**
   * (Re)reads the given shards into memory; the paths it replaces or removes go into `reloaded`.
   * Returns the shards that could not be read.
   */
  private async loadShards(indices: number[], reloaded?: Set<string>): Promise<string[]> {
    const dropped: string[] = [];
    // One shard at a time through one decoder, the next one's bytes read while this one's chunks
    // are added: never every shard's bytes and contents in memory at once.
    const decoder = new ShardDecoder();
    let next = indices.length > 0 ? this.readShard(indices[0]!, decoder) : undefined;
    for (let k = 0; k < indices.length; k++) {
      const read = await next!;
      const i = indices[k]!;
      let contents: DecodedShard | undefined;
      if (read === 'missing') contents = { modelId: this.current.modelId, dimension: this.current.dimension, files: new Map(), vectors: new Int8Array(0), sums: new Int32Array(0) };
      else if (typeof read === 'object') {
        try {
          contents = decoder.decode();
          if (contents.modelId !== this.current.modelId || contents.dimension !== this.current.dimension) {
            throw new Error(`written by model ${contents.modelId}/${contents.dimension}`);
          }
        } catch (err) {
          dropped.push(`${this.shardName(i)}: ${(err as Error).message}`);
          contents = undefined;
        }
      } else dropped.push(`${this.shardName(i)}: ${read}`);
      // The decoder's input is free again (its output stays put until the next decode): the next
      // read can start. It touches the decoder only after its first await, i.e. after the
      // synchronous adding below.
      next = k + 1 < indices.length ? this.readShard(indices[k + 1]!, decoder) : undefined;
      const shard = this.shards[i]!;
      const mine = this.changed[i]!;
      for (const [p, entry] of shard) {
        if (mine.has(p)) continue;
        this.retireRows(entry);
        shard.delete(p);
        this.lexical.removeFile(p);
        this.gaps.delete(p);
        this.unsavedKeywords.delete(p);
        this.files--;
        reloaded?.add(p);
      }
      this.stamps[i] = typeof read === 'object' && contents ? read.stamp : undefined;
      this.keywordFiles[i] = contents?.keywords;
      if (!contents) {
        // Rewritten (without the unreadable files) on the next flush; they are indexed again.
        this.dirty.add(i);
        continue;
      }
      // Read beside the vectors, awaited only once they are in: the next shard's read may already be
      // filling the decoder's memory, where this shard's vectors are.
      const keywordsRead = contents.keywords ? this.readKeywords(i, contents.keywords) : undefined;
      const added: [string, DecodedFile][] = [];
      for (const [p, file] of contents.files) {
        if (mine.has(p)) continue;
        const rows = this.table.addQuantizedRun(file.chunks, contents.vectors, contents.sums, file.first);
        shard.set(p, { state: file.state, chunks: file.chunks, rows });
        if (this.byHash) file.chunks.forEach((c, j) => this.byHash!.added(c.hash, rows[j]!));
        this.files++;
        reloaded?.add(p);
        added.push([p, file]);
      }
      const keywords = await keywordsRead;
      const ids = keywords ? this.lexical.termIdsOf(keywords.vocabulary, keywords.terms) : undefined;
      for (const [p, file] of added) {
        // Replaced or removed while the keyword file was read: what replaced it has its own entries.
        if (shard.get(p)?.chunks !== file.chunks) continue;
        const entries = keywords?.files.get(p);
        if (entries && entries.offsets.length === file.chunks.length + 1) this.lexical.putEntries(p, file.chunks, entries.offsets, entries.ids, entries.counts, ids!);
        else this.gaps.add(p);
      }
    }
    return dropped;
  }

  /**
   * How many keyword entries the shards' keyword files hold, from their headers (a file being
   * replaced by a writer counts twice, which only leaves room): opening sizes the keyword index's
   * arrays once instead of growing them shard by shard, each time copying all (a fifth of opening
   * a real 186k-chunk index, mostly in the collections those large allocations set off).
   */
  private async keywordEntriesOnDisk(): Promise<number> {
    const header = Buffer.alloc(KEYWORD_HEADER_BYTES);
    let total = 0;
    for (let i = 0; i < this.shards.length; i++) {
      const dir = path.join(this.dir, 'shards', this.shardName(i));
      for (const name of await fs.readdir(dir).catch(() => [] as string[])) {
        if (!name.startsWith('keywords-') || !name.endsWith('.bin')) continue;
        const file = await fs.open(path.join(dir, name)).catch(() => undefined);
        if (!file) continue;
        try {
          const { bytesRead } = await file.read(header, 0, header.length, 0);
          total += entriesInHeader(header.subarray(0, bytesRead)) ?? 0;
        } catch {
          // Unreadable now: loading the shard will say so.
        } finally {
          await file.close();
        }
      }
    }
    return total;
  }

  /** Shard `i`'s keyword file, or undefined (its files' keywords are then read again from the files) when it is unreadable. */
  private async readKeywords(i: number, name: string): Promise<ReturnType<typeof decodeKeywords> | undefined> {
    try {
      return decodeKeywords(await fs.readFile(path.join(this.dir, 'shards', this.shardName(i), name)));
    } catch {
      return undefined;
    }
  }

  /** Reads shard `i`'s file into the decoder's buffer: its stamp, 'missing', or why it could not be read. */
  private async readShard(i: number, decoder: ShardDecoder): Promise<{ stamp: string } | 'missing' | string> {
    let handle: fs.FileHandle;
    try {
      handle = await fs.open(this.shardPath(i), 'r');
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : (err as Error).message;
    }
    try {
      const stat = await handle.stat();
      // One read for the whole file (`readFile` reads in 512 KB pieces, a thread-pool round trip each).
      const into = decoder.buffer(stat.size);
      let at = 0;
      while (at < into.length) {
        const { bytesRead } = await handle.read(into, at, into.length - at, at);
        if (bytesRead === 0) break;
        at += bytesRead;
      }
      // A file that shrank meanwhile is cut short; the decoder rejects it.
      if (at < into.length) decoder.buffer(at);
      return { stamp: `${stat.ino}:${stat.size}:${stat.mtimeMs}` };
    } catch (err) {
      return (err as Error).message;
    } finally {
      await handle.close();
    }
  }

  private hashIndex(): RowsByHash {
    if (!this.byHash) {
      const byHash = (this.byHash = new RowsByHash((row) => this.table.isLive(row)));
      for (const { row, hash } of this.retired) byHash.added(hash, row);
      for (const shard of this.shards) for (const entry of shard.values()) entry.chunks.forEach((c, j) => byHash.added(c.hash, entry.rows[j]!));
    }
    return this.byHash;
  }

  private retireRows(entry: FileEntry): void {
    entry.rows.forEach((row, j) => {
      const hash = entry.chunks[j]!.hash;
      this.table.retire(row);
      this.byHash?.retired(hash, row);
      this.retired.push({ row, hash });
    });
  }

  /** After a flush made the first `count` removals final, frees their rows and forgets vectors of text that is gone. */
  private recycleRetired(count: number): void {
    for (const { row, hash } of this.retired.slice(0, count)) {
      this.byHash?.recycled(hash, row);
      this.table.recycle(row);
    }
    this.retired = this.retired.slice(count);
  }

  private touch(p: string): void {
    const shard = this.shardIndex(p);
    this.dirty.add(shard);
    this.changed[shard]!.add(p);
    this.versions[shard]!++;
    this.scheduleWrite();
  }

  private scheduleWrite(): void {
    // In the background only for a writer: a store filled in memory (tests, evaluation) stays there.
    const delay = this.options.flushDelayMs ?? (this.holdLock ? DEFAULT_FLUSH_DELAY_MS : 0);
    if (delay <= 0 || this.deferring > 0) return;
    this.cancelTimer();
    this.timer = setTimeout(() => {
      this.timer = undefined;
      // Background writes leave retired rows alone: an indexing run may still reuse their vectors.
      this.serialized(() => this.writeDirty()).catch((err: Error) => this.options.onBackgroundError?.(err));
    }, delay);
  }

  private cancelTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Disk work runs one piece at a time: a background write never interleaves with a flush. */
  private serialized<T>(work: () => Promise<T>): Promise<T> {
    const next = this.queue.then(work, work);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private shardOf(p: string): Map<string, FileEntry> {
    return this.shards[this.shardIndex(p)]!;
  }

  private shardIndex(p: string): number {
    return (hashString(p) >>> 0) % this.current.shardCount;
  }

  private shardName(i: number): string {
    return `shard-${String(i).padStart(3, '0')}`;
  }

  private shardPath(i: number): string {
    return path.join(this.dir, 'shards', this.shardName(i), 'index.json');
  }
}

/** Removes the keyword files in a shard's folder but those named in `keep`. */
async function removeKeywordFiles(dir: string, keep: (string | undefined)[]): Promise<void> {
  const names = await fs.readdir(dir).catch(() => [] as string[]);
  await Promise.all(names.filter((n) => n.startsWith('keywords-') && n.endsWith('.bin') && !keep.includes(n)).map((n) => fs.rm(path.join(dir, n), { force: true })));
}

async function stampOf(file: string): Promise<string | undefined> {
  try {
    const s = await fs.stat(file);
    return `${s.ino}:${s.size}:${s.mtimeMs}`;
  } catch {
    return undefined;
  }
}

/** The manifest, none (no index yet), or why it could not be used: a damaged index is rebuilt, and says so. */
async function readManifest(dir: string): Promise<{ manifest?: IndexManifest; damaged?: string }> {
  let text: string;
  try {
    text = await fs.readFile(path.join(dir, 'manifest.json'), 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'ENOENT' || code === 'ENOTDIR' ? {} : { damaged: `the index could not be read (manifest.json: ${code ?? (err as Error).message})` };
  }
  let m: Partial<IndexManifest>;
  try {
    m = JSON.parse(text) as Partial<IndexManifest>;
  } catch {
    return { damaged: `the index was damaged (manifest.json is not valid JSON, ${text.length} bytes)` };
  }
  const valid =
    typeof m === 'object' && m !== null && Number.isInteger(m.formatVersion) && typeof m.modelId === 'string' && Number.isInteger(m.dimension) &&
    (m.dimension ?? 0) > 0 && Number.isInteger(m.chunkerVersion) && Number.isInteger(m.shardCount) && (m.shardCount ?? 0) > 0 && typeof m.createdAt === 'string';
  return valid ? { manifest: m as IndexManifest } : { damaged: 'the index was damaged (manifest.json lacks its fields)' };
}

function describeMismatch(m: IndexManifest, id: IndexIdentity): string | undefined {
  if (m.formatVersion > STORE_FORMAT_VERSION) return `it was written by a newer Nearby (index format ${m.formatVersion}; this one reads ${STORE_FORMAT_VERSION})`;
  if (m.formatVersion !== STORE_FORMAT_VERSION) return `index format ${m.formatVersion} → ${STORE_FORMAT_VERSION}`;
  if (m.modelId !== id.modelId) return `model ${m.modelId} → ${id.modelId}`;
  if (m.dimension !== id.dimension) return `dimension ${m.dimension} → ${id.dimension}`;
  if (m.chunkerVersion !== id.chunkerVersion) return `chunker version ${m.chunkerVersion} → ${id.chunkerVersion}`;
  return undefined;
}
