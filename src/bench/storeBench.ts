/**
 * `nearby bench store`: Nearby's sharded store against stock Vectra `LocalIndex` on the same
 * random unit vectors. Each (implementation, size) runs in its own process so peak RSS is its own.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, promises as fs, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { IndexStore } from '../core/store/indexStore';
import type { StoredChunk } from '../core/store/records';

export interface StoreFigures {
  insert_ms: number;
  load_ms: number;
  query_p50_ms: number;
  query_p95_ms: number;
  update_ms: number;
  disk_bytes: number;
  rss_mb: number;
}

type Impl = 'nearby' | 'vectra';
const CHUNKS_PER_FILE = 10;
const QUERIES = 200;

/** Parent side: runs every size for both implementations and returns the report. */
export function runStoreBench(sizes: number[], dimension: number, selfArgs: string[]): { sizes: Record<string, unknown>[] } {
  const report: Record<string, unknown>[] = [];
  for (const n of sizes) {
    const row: Record<string, unknown> = { n, dimension };
    for (const impl of ['nearby', 'vectra'] as Impl[]) {
      process.stderr.write(`bench store: ${impl} n=${n}...\n`);
      const r = spawnSync(process.execPath, [...selfArgs, 'bench', 'store-one', impl, String(n), String(dimension)], { encoding: 'utf8', maxBuffer: 1 << 24 });
      const last = r.stdout.trim().split('\n').pop() ?? '';
      try {
        row[impl] = JSON.parse(last);
      } catch {
        row[impl] = { error: (r.stderr.trim().split('\n').filter(Boolean).pop() ?? `exit ${r.status} ${r.signal ?? ''}`).slice(0, 300) };
      }
    }
    report.push(row);
  }
  return { sizes: report };
}

/** Child side: one implementation at one size; prints one JSON line. */
export async function runStoreBenchOne(impl: Impl, n: number, dimension: number): Promise<StoreFigures> {
  const dir = mkdtempSync(path.join(os.tmpdir(), `nearby-bench-${impl}-`));
  try {
    const vectors = randomVectors(n, dimension, 1);
    const queries = randomVectors(QUERIES, dimension, 2);
    const update = randomVectors(CHUNKS_PER_FILE, dimension, 3);
    const figures = impl === 'nearby' ? await benchNearby(dir, vectors, queries, update, dimension) : await benchVectra(dir, vectors, queries, update);
    return { ...figures, disk_bytes: await diskBytes(dir), rss_mb: Math.round(process.resourceUsage().maxRSS / 1024) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function chunkOf(file: number, i: number): StoredChunk {
  const p = `src/pkg${file % 97}/file${file}.ts`;
  return { path: p, startLine: i * 20 + 1, endLine: i * 20 + 18, language: 'typescript', kind: 'code', symbol: `fn${file}_${i}`, hash: `${file.toString(16)}-${i}` };
}

async function benchNearby(dir: string, vectors: Float32Array[], queries: Float32Array[], update: Float32Array[], dimension: number): Promise<Omit<StoreFigures, 'disk_bytes' | 'rss_mb'>> {
  const identity = { modelId: 'bench', dimension, chunkerVersion: 1 };
  const files = Math.ceil(vectors.length / CHUNKS_PER_FILE);
  let t = performance.now();
  const { store } = await IndexStore.open(dir, identity);
  for (let f = 0; f < files; f++) {
    const vs = vectors.slice(f * CHUNKS_PER_FILE, (f + 1) * CHUNKS_PER_FILE);
    store.putFile(chunkOf(f, 0).path, { mtimeMs: f, size: f }, vs.map((_, i) => chunkOf(f, i)), vs);
  }
  await store.flush();
  const insert_ms = performance.now() - t;

  t = performance.now();
  const loaded = (await IndexStore.open(dir, identity)).store;
  loaded.search(queries[0]!, 10); // the first query builds the contiguous table: part of loading
  const load_ms = performance.now() - t;

  const times = queries.map((q) => {
    const s = performance.now();
    loaded.search(q, 10);
    return performance.now() - s;
  });

  // One file's 10 chunks replaced; searchable once a query returns the new text.
  t = performance.now();
  const target = 7;
  loaded.putFile(chunkOf(target, 0).path, { mtimeMs: -1, size: -1 }, update.map((_, i) => ({ ...chunkOf(target, i), hash: `new-${i}` })), update);
  const top = loaded.search(update[0]!, 1)[0];
  const update_ms = performance.now() - t;
  if (top?.hash !== 'new-0') throw new Error('update not visible to search');
  await loaded.flush();
  return { insert_ms: round(insert_ms), load_ms: round(load_ms), ...percentiles(times), update_ms: round(update_ms) };
}

async function benchVectra(dir: string, vectors: Float32Array[], queries: Float32Array[], update: Float32Array[]): Promise<Omit<StoreFigures, 'disk_bytes' | 'rss_mb'>> {
  const { LocalIndex } = await import('vectra');
  const files = Math.ceil(vectors.length / CHUNKS_PER_FILE);
  let t = performance.now();
  const index = new LocalIndex(dir);
  await index.createIndex({ version: 1 });
  await index.beginUpdate();
  for (let f = 0; f < files; f++) {
    for (let i = 0; i < CHUNKS_PER_FILE && f * CHUNKS_PER_FILE + i < vectors.length; i++) {
      const c = chunkOf(f, i);
      await index.insertItem({ id: c.hash, vector: Array.from(vectors[f * CHUNKS_PER_FILE + i]!), metadata: { path: c.path, start: c.startLine, end: c.endLine, language: c.language, kind: c.kind, symbol: c.symbol!, hash: c.hash } });
    }
  }
  await index.endUpdate();
  const insert_ms = performance.now() - t;

  t = performance.now();
  const loaded = new LocalIndex(dir);
  await loaded.queryItems(Array.from(queries[0]!), '', 10);
  const load_ms = performance.now() - t;

  const times: number[] = [];
  for (const q of queries) {
    const arr = Array.from(q);
    const s = performance.now();
    await loaded.queryItems(arr, '', 10);
    times.push(performance.now() - s);
  }

  t = performance.now();
  await loaded.beginUpdate();
  for (let i = 0; i < CHUNKS_PER_FILE; i++) await loaded.deleteItem(chunkOf(7, i).hash);
  for (let i = 0; i < CHUNKS_PER_FILE; i++) await loaded.insertItem({ id: `new-${i}`, vector: Array.from(update[i]!), metadata: { hash: `new-${i}` } });
  await loaded.endUpdate();
  const top = await loaded.queryItems(Array.from(update[0]!), '', 1);
  const update_ms = performance.now() - t;
  if (top[0]?.item.metadata['hash'] !== 'new-0') throw new Error('update not visible to search');
  return { insert_ms: round(insert_ms), load_ms: round(load_ms), ...percentiles(times), update_ms: round(update_ms) };
}

function percentiles(times: number[]): { query_p50_ms: number; query_p95_ms: number } {
  const s = [...times].sort((a, b) => a - b);
  return { query_p50_ms: round(s[Math.floor(s.length * 0.5)]!), query_p95_ms: round(s[Math.floor(s.length * 0.95)]!) };
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}

async function diskBytes(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await fs.readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) total += (await fs.stat(path.join(entry.parentPath ?? (entry as unknown as { path: string }).path, entry.name))).size;
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
