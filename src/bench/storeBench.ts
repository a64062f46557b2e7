/**
 * `nearby bench store`: Nearby's sharded store against stock Vectra `LocalIndex` on the same
 * random unit vectors. Each (implementation, size) is built in one process and opened in a fresh
 * one, as an editor opens an index it wrote in an earlier session: the load is not timed in a
 * process still holding the index it just built. Peak RSS is the larger of the two.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { seededRandom } from '../core/random';
import { IndexStore } from '../core/store/indexStore';
import type { StoredChunk } from '../core/store/records';
import { median } from './report';

export interface StoreFigures {
  insert_ms: number;
  load_ms: number;
  query_p50_ms: number;
  query_p95_ms: number;
  /** Nearby only: the keyword side on the same chunks (synthetic words), and both sides of a hybrid query one after the other. */
  keyword_p50_ms?: number;
  keyword_p95_ms?: number;
  hybrid_p50_ms?: number;
  hybrid_p95_ms?: number;
  update_ms: number;
  disk_bytes: number;
  /** Of `disk_bytes`, Nearby's keyword files (a side stock Vectra does not have). */
  keyword_disk_bytes?: number;
  rss_mb: number;
}

type Impl = 'nearby' | 'vectra';
export type StorePhase = 'build' | 'open';
const CHUNKS_PER_FILE = 10;
const QUERIES = 200;
/** One-file updates timed (each a different file); the median is reported. */
const UPDATES = 11;

type Built = { insert_ms: number; rss_mb: number } | (VectraFailure & { rss_mb: number });
type Opened = Pick<StoreFigures, 'load_ms' | 'query_p50_ms' | 'query_p95_ms' | 'keyword_p50_ms' | 'keyword_p95_ms' | 'hybrid_p50_ms' | 'hybrid_p95_ms' | 'update_ms' | 'rss_mb'>;

/**
 * Parent side: runs every size for both implementations and returns the report; sizes above
 * `vectraMax` are not run on stock Vectra (its insert is quadratic: a million items take hours).
 */
export function runStoreBench(sizes: number[], dimension: number, selfArgs: string[], vectraMax = Number.POSITIVE_INFINITY): { sizes: Record<string, unknown>[] } {
  const report: Record<string, unknown>[] = [];
  let vectraFailedAt: { n: number; error: string } | undefined;
  for (const n of [...sizes].sort((a, b) => a - b)) {
    const row: Record<string, unknown> = { n, dimension };
    for (const impl of ['nearby', 'vectra'] as Impl[]) {
      if (impl === 'vectra' && n > vectraMax) {
        row[impl] = { error: `not run: above --vectra-max ${vectraMax}` };
        continue;
      }
      if (impl === 'vectra' && vectraFailedAt) {
        // Its insert is quadratic (a linear id check per item): a larger run would only fail later, slower.
        row[impl] = { error: `not run: stock Vectra already failed to save ${vectraFailedAt.n} items (${vectraFailedAt.error})` };
        continue;
      }
      process.stderr.write(`bench store: ${impl} n=${n}...\n`);
      const dir = mkdtempSync(path.join(os.tmpdir(), `nearby-bench-${impl}-`));
      try {
        const run = <T>(phase: StorePhase): T | { error: string } => {
          const r = spawnSync(process.execPath, [...selfArgs, 'bench', 'store-one', impl, String(n), String(dimension), phase, dir], { encoding: 'utf8', maxBuffer: 1 << 24 });
          try {
            return JSON.parse(r.stdout.trim().split('\n').pop() ?? '') as T;
          } catch {
            return { error: (r.stderr.trim().split('\n').filter(Boolean).pop() ?? `exit ${r.status} ${r.signal ?? ''}`).slice(0, 300) };
          }
        };
        const built = run<Built>('build');
        if ('error' in built) {
          row[impl] = built;
          if (impl === 'vectra') vectraFailedAt = { n, error: built.error };
          continue;
        }
        const disk_bytes = diskBytes(dir);
        const keywordBytes = diskBytes(dir, (name) => /^keywords-.*\.bin$/.test(name));
        const opened = run<Opened>('open');
        row[impl] = 'error' in opened
          ? { ...built, error: opened.error }
          : { insert_ms: built.insert_ms, ...opened, disk_bytes, ...(impl === 'nearby' ? { keyword_disk_bytes: keywordBytes } : {}), rss_mb: Math.max(built.rss_mb, opened.rss_mb) };
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
    report.push(row);
  }
  return { sizes: report };
}

/** Child side: one phase of one implementation at one size, on `dir`; prints one JSON line. */
export async function runStoreBenchOne(impl: Impl, n: number, dimension: number, phase: StorePhase, dir: string): Promise<Built | Opened> {
  // Generated per file on demand, so the input data does not count in either store's RSS.
  const vectors = (f: number) => randomVectors(Math.min(CHUNKS_PER_FILE, n - f * CHUNKS_PER_FILE), dimension, Math.imul(f + 1, 0x9e3779b1) >>> 0);
  const files = Math.ceil(n / CHUNKS_PER_FILE);
  const queries = randomVectors(QUERIES, dimension, 2);
  const update = randomVectors(CHUNKS_PER_FILE * UPDATES, dimension, 3);
  const identity = { modelId: 'bench', dimension, chunkerVersion: 1 };
  const figures =
    phase === 'build'
      ? impl === 'nearby'
        ? await buildNearby(dir, identity, files, vectors)
        : await buildVectra(dir, files, vectors, queries)
      : impl === 'nearby'
        ? await openNearby(dir, identity, queries, update)
        : await openVectra(dir, queries, update);
  return { rss_mb: peakRssMb(), ...figures };
}

function peakRssMb(): number {
  return Math.round(process.resourceUsage().maxRSS / 1024);
}

/** Words of the synthetic chunks' texts, drawn by Zipf's law as a code base's words are. */
const WORDS = 60_000;
const WORDS_PER_CHUNK = 60;
const zipfTotals = (() => {
  const totals = new Float64Array(WORDS);
  let sum = 0;
  for (let r = 0; r < WORDS; r++) totals[r] = sum += 1 / (r + 1);
  return totals;
})();

function wordOf(rank: number): string {
  let w = 'q';
  for (let n = rank; ; n = Math.floor(n / 26) - 1) {
    w += String.fromCharCode(97 + (n % 26));
    if (n < 26) return w;
  }
}

function zipfWord(u: number): string {
  const target = u * zipfTotals[WORDS - 1]!;
  let lo = 0;
  let hi = WORDS - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (zipfTotals[mid]! < target) lo = mid + 1;
    else hi = mid;
  }
  return wordOf(lo);
}

/** A chunk's text: Zipf-drawn words and the names it defines, the same for the same chunk in every run. */
function textOf(file: number, i: number): string {
  const random = seededRandom(Math.imul(file + 1, 0x85ebca6b) ^ (i + 1));
  const words = Array.from({ length: WORDS_PER_CHUNK }, () => zipfWord(random()));
  return `fn${file}_${i} ${words.join(' ')}`;
}

/** A word only the first chunk of update `u` holds. */
function updateMark(u: number): string {
  return `zzmark${wordOf(u).slice(1)}`;
}

/** Three words of middling frequency, as a question's words are. */
function keywordQueries(count: number): string[] {
  const random = seededRandom(11);
  return Array.from({ length: count }, () => [0, 1, 2].map(() => wordOf(50 + Math.floor(random() * 5000))).join(' '));
}

function chunkOf(file: number, i: number): StoredChunk {
  const p = `src/pkg${file % 97}/file${file}.ts`;
  return { path: p, startLine: i * 20 + 1, endLine: i * 20 + 18, language: 'typescript', kind: 'code', symbol: `fn${file}_${i}`, hash: `${file.toString(16)}-${i}` };
}

type Identity = { modelId: string; dimension: number; chunkerVersion: number };

async function buildNearby(dir: string, identity: Identity, files: number, vectors: (f: number) => Float32Array[]): Promise<{ insert_ms: number }> {
  const t = performance.now();
  const { store } = await IndexStore.open(dir, identity);
  for (let f = 0; f < files; f++) {
    const vs = vectors(f);
    store.putFile(chunkOf(f, 0).path, { mtimeMs: f, size: f }, vs.map((_, i) => chunkOf(f, i)), vs, vs.map((_, i) => textOf(f, i)));
  }
  await store.close();
  return { insert_ms: round(performance.now() - t) };
}

async function openNearby(dir: string, identity: Identity, queries: Float32Array[], update: Float32Array[]): Promise<Opened> {
  const t = performance.now();
  const loaded = (await IndexStore.open(dir, identity)).store;
  loaded.search(queries[0]!, 10); // as for Vectra, whose first query is what reads the file
  const load_ms = performance.now() - t;

  const times = queries.map((q) => {
    const s = performance.now();
    loaded.search(q, 10);
    return performance.now() - s;
  });
  const keywordTimes = keywordQueries(queries.length).map((q) => {
    const s = performance.now();
    if (loaded.lexical.search(q, 10).length === 0) throw new Error(`no keyword hit for "${q}"`);
    return performance.now() - s;
  });

  // One file's 10 chunks replaced, timed until the next query sees them (that query is timed as a
  // query, above). Several files, median reported; the disk write follows in the background.
  const updates: number[] = [];
  for (let u = 0; u < UPDATES; u++) {
    const target = 7 + u * 13;
    const vs = update.slice(u * CHUNKS_PER_FILE, (u + 1) * CHUNKS_PER_FILE);
    const s = performance.now();
    loaded.putFile(chunkOf(target, 0).path, { mtimeMs: -1, size: -1 }, vs.map((_, i) => ({ ...chunkOf(target, i), hash: `new-${u}-${i}` })), vs, vs.map((_, i) => (i === 0 ? `${textOf(target, i)} ${updateMark(u)}` : textOf(target, i))));
    updates.push(performance.now() - s);
    const top = loaded.search(vs[0]!, 1)[0];
    if (top?.hash !== `new-${u}-0`) throw new Error('update not visible to search');
    if (loaded.lexical.search(updateMark(u), 1)[0]?.chunk.hash !== `new-${u}-0`) throw new Error('update not visible to keyword search');
  }
  await loaded.close();
  // The peak of this session with the index; the check below opens a second copy beside it.
  const rss_mb = peakRssMb();
  if ((await IndexStore.open(dir, identity)).store.search(update[0]!, 1)[0]?.hash !== 'new-0-0') throw new Error('update not on disk');
  const keyword = percentiles(keywordTimes);
  const hybrid = percentiles(times.map((t, i) => t + keywordTimes[i]!));
  return {
    load_ms: round(load_ms),
    ...percentiles(times),
    keyword_p50_ms: keyword.query_p50_ms,
    keyword_p95_ms: keyword.query_p95_ms,
    hybrid_p50_ms: hybrid.query_p50_ms,
    hybrid_p95_ms: hybrid.query_p95_ms,
    update_ms: round(median(updates)),
    rss_mb,
  };
}

async function buildVectra(dir: string, files: number, vectors: (f: number) => Float32Array[], queries: Float32Array[]): Promise<{ insert_ms: number } | VectraFailure> {
  const { LocalIndex } = await import('vectra');
  const t = performance.now();
  const index = new LocalIndex(dir);
  await index.createIndex({ version: 1 });
  await index.beginUpdate();
  for (let f = 0; f < files; f++) {
    const vs = vectors(f);
    for (let i = 0; i < vs.length; i++) {
      const c = chunkOf(f, i);
      await index.insertItem({ id: c.hash, vector: Array.from(vs[i]!), metadata: { path: c.path, start: c.startLine, end: c.endLine, language: c.language, kind: c.kind, symbol: c.symbol!, hash: c.hash } });
    }
  }
  try {
    await index.endUpdate();
  } catch (err) {
    // Past ~65k items its single JSON string exceeds V8's limit. Its query speed on the same data
    // is still worth knowing: run its own queryItems on the items it holds in memory.
    const internals = index as unknown as { _data: unknown; _update: unknown };
    internals._data = internals._update;
    const times = await timeVectraQueries(index, queries);
    return { error: (err as Error).message.slice(0, 200), ...percentiles(times), note: 'save failed; queries ran on the items Vectra held in memory' };
  }
  return { insert_ms: round(performance.now() - t) };
}

async function openVectra(dir: string, queries: Float32Array[], update: Float32Array[]): Promise<Omit<Opened, 'rss_mb'>> {
  const { LocalIndex } = await import('vectra');
  const t = performance.now();
  const loaded = new LocalIndex(dir);
  await loaded.queryItems(Array.from(queries[0]!), '', 10);
  const load_ms = performance.now() - t;

  const times = await timeVectraQueries(loaded, queries);

  // Vectra makes a change visible to queryItems only by endUpdate, which rewrites the whole file.
  const updates: number[] = [];
  for (let u = 0; u < UPDATES; u++) {
    const target = 7 + u * 13;
    const s = performance.now();
    await loaded.beginUpdate();
    for (let i = 0; i < CHUNKS_PER_FILE; i++) await loaded.deleteItem(chunkOf(target, i).hash);
    for (let i = 0; i < CHUNKS_PER_FILE; i++) await loaded.insertItem({ id: `new-${u}-${i}`, vector: Array.from(update[u * CHUNKS_PER_FILE + i]!), metadata: { hash: `new-${u}-${i}` } });
    await loaded.endUpdate();
    updates.push(performance.now() - s);
    const top = await loaded.queryItems(Array.from(update[u * CHUNKS_PER_FILE]!), '', 1);
    if (top[0]?.item.metadata['hash'] !== `new-${u}-0`) throw new Error('update not visible to search');
  }
  return { load_ms: round(load_ms), ...percentiles(times), update_ms: round(median(updates)) };
}

interface VectraFailure {
  error: string;
  query_p50_ms: number;
  query_p95_ms: number;
  note: string;
}

async function timeVectraQueries(index: { queryItems(v: number[], q: string, k: number): Promise<unknown> }, queries: Float32Array[]): Promise<number[]> {
  const times: number[] = [];
  for (const q of queries) {
    const arr = Array.from(q);
    const s = performance.now();
    await index.queryItems(arr, '', 10);
    times.push(performance.now() - s);
  }
  return times;
}

function percentiles(times: number[]): { query_p50_ms: number; query_p95_ms: number } {
  const s = [...times].sort((a, b) => a - b);
  return { query_p50_ms: round(s[Math.floor(s.length * 0.5)]!), query_p95_ms: round(s[Math.floor(s.length * 0.95)]!) };
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}

function diskBytes(dir: string, counted: (name: string) => boolean = () => true): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && counted(entry.name)) total += statSync(path.join(entry.parentPath ?? (entry as unknown as { path: string }).path, entry.name)).size;
  }
  return total;
}

function randomVectors(count: number, dimension: number, seed: number): Float32Array[] {
  let state = seed >>> 0;
  const next = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 4294967296 - 0.5;
  };
  return Array.from({ length: count }, () => {
    const v = new Float32Array(dimension);
    let norm = 0;
    for (let i = 0; i < dimension; i++) norm += (v[i] = next()) ** 2;
    norm = Math.sqrt(norm);
    for (let i = 0; i < dimension; i++) v[i]! /= norm;
    return v;
  });
}
