import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '../store/atomicWrite';
import type { IndexStore } from '../store/indexStore';
import type { FileRole } from '../scan/fileRole';
import { kMeans, regionCount, regionTerms } from './clusters';
import { seededRandom } from '../random';
import { bounds, firstNeighbours, neighbourGraph, neighbourPreservation, pcaLayout, rowDot, umapLayout, type NeighbourGraph } from './layout';

/** One indexed folder as the map reads it: chunks, vectors and keyword entries from its index (the cache goes in its folder). */
export interface MapSource {
  root: string;
  contents: Pick<IndexStore, 'paths' | 'chunksOf' | 'vectorFor' | 'lexical' | 'manifest' | 'dir'>;
}

export interface MapFile {
  /** Index into `WorkspaceMap.roots`. */
  root: number;
  path: string;
  language: string;
  role: FileRole;
}

export interface MapRegion {
  /** The terms that set the region apart, most telling first. */
  terms: string[];
  /** Its most frequent symbols (functions, classes, sections). */
  symbols: string[];
  size: number;
  /** Its centre on the map (0..1). */
  x: number;
  y: number;
}

/** Columns of per-point values: point i is `file[i]`, `start[i]`, … */
export interface MapPoints {
  file: number[];
  start: number[];
  end: number[];
  /** 0 code, 1 docs. */
  doc: number[];
  /** Position on the map, both in 0..1 (y grows downwards, as on screen). */
  x: number[];
  y: number[];
  region: number[];
  /** The chunk's symbol, or "" when it has none. */
  symbol: string[];
}

export interface WorkspaceMap {
  roots: string[];
  /** Chunks in the indexes, and how many of them the map shows. */
  total: number;
  shown: number;
  /** The projection: UMAP's optimisation as `umapLayout` runs it (README, "The map"). */
  method: 'umap';
  files: MapFile[];
  points: MapPoints;
  regions: MapRegion[];
  /**
   * The share of each point's 10 nearest neighbours by meaning that are also among its 10 nearest
   * on the map (on `sampled` points): how far the picture can be trusted.
   */
  quality: { neighbours: number; preservation: number; sampled: number };
  /** How the map was made: laid out afresh, or read from the cache with `placed` new points added. */
  build: { cached: boolean; placed: number; ms: Record<string, number> };
  /** What the map leaves out or could not do, in words for the user (absent when nothing). */
  notice?: string;
}

export interface MapOptions {
  /** Most points laid out; a larger index shows an even sample (default 20,000). */
  maxPoints?: number;
  /** Lets other requests in between slices of the layout (the worker answers searches meanwhile). */
  yieldEvery?: () => Promise<void>;
}

export const DEFAULT_MAX_POINTS = 20_000;
/** Neighbours compared for the map's honesty figure (see `WorkspaceMap.quality`). */
const QUALITY_NEIGHBOURS = 10;
/** The layout's neighbour graph: fewer than UMAP's usual 15 keep close neighbours closer (README, "The map"). */
const LAYOUT_NEIGHBOURS = 10;
/** A cached layout is reused while at least this share of the points are in it; new points are placed among their neighbours. */
const REUSE_SHARE = 0.8;
const CACHE_FILE = 'map.json';
/** Changes with the cache's shape and with the layout: a map made another way is laid out again. */
const CACHE_FORMAT = 2;
/** Cached points are keyed by this many hex digits of their chunk's hash. */
const KEY_DIGITS = 16;

interface Point {
  source: number;
  file: number;
  start: number;
  end: number;
  doc: boolean;
  symbol: string;
  key: string;
  hash: string;
  path: string;
}

interface MapCache {
  format: number;
  /** The index it was made of: another model or a rebuilt index makes it stale. */
  modelId: string;
  indexCreatedAt: string;
  /** Shared by the caches of every folder of one layout. */
  layout: string;
  /** key → [x, y] in layout units. */
  points: Record<string, [number, number]>;
}

/** The map of every source's chunks: laid out afresh, or from the cache with new chunks placed. */
export async function buildMap(sources: readonly MapSource[], options: MapOptions = {}): Promise<WorkspaceMap> {
  const started = Date.now();
  const ms: Record<string, number> = {};
  const lap = (name: string, since: number) => (ms[name] = Date.now() - since);
  const maxPoints = options.maxPoints ?? DEFAULT_MAX_POINTS;

  let t = Date.now();
  const files: MapFile[] = [];
  let points: Point[] = [];
  const copies = new Map<string, number>();
  sources.forEach((s, si) => {
    for (const p of [...s.contents.paths()].sort()) {
      const chunks = s.contents.chunksOf(p);
      if (chunks.length === 0) continue;
      const file = files.push({ root: si, path: p, language: chunks[0]!.language, role: chunks[0]!.role ?? 'source' }) - 1;
      for (const c of chunks) {
        // Copies of one chunk share a hash: the n-th copy in path order keeps the n-th copy's place.
        const hashKey = c.hash.slice(0, KEY_DIGITS);
        const copy = copies.get(hashKey) ?? 0;
        copies.set(hashKey, copy + 1);
        points.push({ source: si, file, start: c.startLine, end: c.endLine, doc: c.kind === 'doc', symbol: c.symbol ?? '', key: copy === 0 ? hashKey : `${hashKey}.${copy}`, hash: c.hash, path: p });
      }
    }
  });
  const total = points.length;
  if (total > maxPoints) points = evenSample(points, maxPoints);
  const n = points.length;
  const d = sources[0]?.contents.manifest.dimension ?? 0;
  const vectors = new Float32Array(n * d);
  points.forEach((p, i) => {
    const v = sources[p.source]!.contents.vectorFor(p.hash);
    if (v) vectors.set(v, i * d);
  });
  lap('read', t);

  const notices: string[] = [];
  if (total > n) notices.push(`The map shows ${n.toLocaleString('en-US')} of ${total.toLocaleString('en-US')} chunks, an even sample (raise the point limit, nearby.map.maxPoints or --max-points, to see more).`);
  if (n < 3) {
    return { roots: sources.map((s) => s.root), total, shown: n, method: 'umap', files, points: columns(points, new Float32Array(2 * n).fill(0.5), new Int32Array(n)), regions: [], quality: { neighbours: QUALITY_NEIGHBOURS, preservation: 1, sampled: n }, build: { cached: false, placed: 0, ms }, notice: 'Too few chunks for a map: index some files first.' };
  }

  t = Date.now();
  const cached = reusableCache(await Promise.all(sources.map(readCache)));
  let xy: Float32Array;
  let placed = 0;
  let sampleGraph: NeighbourGraph;
  const sample = qualitySample(n);
  lap('cache', t);
  const reused = cached !== undefined && points.filter((p) => cached.points.has(p.key)).length >= REUSE_SHARE * n;
  if (reused) {
    t = Date.now();
    xy = new Float32Array(2 * n);
    const known: number[] = [];
    const unknown: number[] = [];
    points.forEach((p, i) => {
      const at = cached.points.get(p.key);
      if (at) {
        xy[2 * i] = at[0];
        xy[2 * i + 1] = at[1];
        known.push(i);
      } else unknown.push(i);
    });
    placed = placeAmong(vectors, n, d, xy, known, unknown);
    lap('place', t);
    t = Date.now();
    sampleGraph = neighbourGraph(vectors, n, d, QUALITY_NEIGHBOURS, { queries: sample });
    lap('neighbours', t);
  } else {
    t = Date.now();
    const graph = neighbourGraph(vectors, n, d, Math.max(LAYOUT_NEIGHBOURS, QUALITY_NEIGHBOURS));
    lap('neighbours', t);
    t = Date.now();
    const init = pcaLayout(vectors, n, d);
    lap('pca', t);
    t = Date.now();
    xy = await umapLayout(graph, n, init, options.yieldEvery ? { yieldEvery: options.yieldEvery } : {});
    lap('layout', t);
    sampleGraph = firstNeighbours(graph, QUALITY_NEIGHBOURS, sample);
  }
  if (placed > 0 || !reused) {
    t = Date.now();
    await writeCaches(sources, points, xy, reused ? cached.layout : newLayoutId()).catch((err: Error) => notices.push(`The map could not be cached (${err.message}); it is laid out again next time.`));
    lap('write', t);
  }

  t = Date.now();
  const preservation = neighbourPreservation(sampleGraph, xy, n, (i, j) => rowDot(vectors, d, i, j), QUALITY_NEIGHBOURS);
  lap('quality', t);

  t = Date.now();
  const unit = toUnitSquare(xy);
  const k = regionCount(n);
  const { assignment, centres } = kMeans(unit, n, k);
  const termsOf = chunkTerms(sources, points);
  const labels = regionTerms(assignment, k, termsOf);
  const regions = labels.map((terms, c): MapRegion => ({ terms, symbols: topSymbols(points, assignment, c), size: 0, x: round(centres[2 * c]!), y: round(centres[2 * c + 1]!) }));
  for (const c of assignment) regions[c]!.size++;
  lap('regions', t);
  ms['total'] = Date.now() - started;

  return {
    roots: sources.map((s) => s.root),
    total,
    shown: n,
    method: 'umap',
    files,
    points: columns(points, unit, assignment),
    regions,
    quality: { neighbours: QUALITY_NEIGHBOURS, preservation: round(preservation), sampled: sample.length },
    build: { cached: reused, placed, ms },
    ...(notices.length > 0 ? { notice: notices.join(' ') } : {}),
  };
}

/** Every `n / max`-th point, in path order: each folder keeps its share. */
function evenSample<T>(items: T[], max: number): T[] {
  const out: T[] = [];
  const step = items.length / max;
  for (let i = 0; i < max; i++) out.push(items[Math.floor(i * step)]!);
  return out;
}

/** Points whose map neighbours are compared with their neighbours by meaning. */
function qualitySample(n: number, size = 2000): number[] {
  if (n <= size) return Array.from({ length: n }, (_, i) => i);
  const random = seededRandom(7);
  const picked = new Set<number>();
  while (picked.size < size) picked.add(Math.floor(random() * n));
  return [...picked].sort((a, b) => a - b);
}

/**
 * Puts each unknown point at the similarity-weighted mean of its 5 nearest known points (by
 * meaning), as UMAP places new data: a saved file's chunks land beside what they resemble
 * without moving anything the user has already seen.
 */
function placeAmong(vectors: Float32Array, n: number, d: number, xy: Float32Array, known: number[], unknown: number[]): number {
  if (unknown.length === 0 || known.length === 0) return 0;
  const graph = neighbourGraph(vectors, n, d, 5, { queries: unknown, among: known });
  unknown.forEach((i, row) => {
    let wx = 0;
    let wy = 0;
    let w = 0;
    for (let j = 0; j < graph.k; j++) {
      const p = graph.indices[row * graph.k + j]!;
      const weight = Math.max(graph.cosines[row * graph.k + j]!, 0) + 1e-3;
      wx += weight * xy[2 * p]!;
      wy += weight * xy[2 * p + 1]!;
      w += weight;
    }
    xy[2 * i] = wx / w;
    xy[2 * i + 1] = wy / w;
  });
  return unknown.length;
}

/** The layout scaled into the unit square, aspect kept, with a margin. */
function toUnitSquare(xy: Float32Array): Float32Array {
  const [lo, hi] = bounds(xy);
  const span = Math.max(hi[0] - lo[0], hi[1] - lo[1]) || 1;
  const off = [(1 - (hi[0] - lo[0]) / span) / 2, (1 - (hi[1] - lo[1]) / span) / 2];
  const out = new Float32Array(xy.length);
  for (let i = 0; i < xy.length; i++) {
    const c = i & 1;
    out[i] = 0.02 + 0.96 * (off[c]! + (xy[i]! - lo[c]) / span);
  }
  return out;
}

function round(x: number): number {
  return Math.round(x * 1e5) / 1e5;
}

function columns(points: Point[], unit: Float32Array, region: Int32Array): MapPoints {
  return {
    file: points.map((p) => p.file),
    start: points.map((p) => p.start),
    end: points.map((p) => p.end),
    doc: points.map((p) => (p.doc ? 1 : 0)),
    x: points.map((_, i) => round(unit[2 * i]!)),
    y: points.map((_, i) => round(unit[2 * i + 1]!)),
    region: Array.from(region),
    symbol: points.map((p) => p.symbol),
  };
}

/** Distinct keyword-index terms of each point's chunk (none for a chunk without keyword entries). */
function chunkTerms(sources: readonly MapSource[], points: Point[]): (i: number) => readonly string[] {
  const byFile = new Map<string, string[][]>();
  const termsOfFile = (p: Point): string[][] => {
    const key = `${p.source}\0${p.path}`;
    let chunks = byFile.get(key);
    if (!chunks) {
      const lexical = sources[p.source]!.contents.lexical;
      chunks = [];
      const list = chunks;
      lexical.entriesOf(p.path, (ids) => list.push(Array.from(ids, (id) => lexical.term(id))));
      byFile.set(key, chunks);
    }
    return chunks;
  };
  const positions = new Map<string, Map<string, number>>();
  return (i) => {
    const p = points[i]!;
    const key = `${p.source}\0${p.path}`;
    let at = positions.get(key);
    if (!at) {
      at = new Map(sources[p.source]!.contents.chunksOf(p.path).map((c, j) => [`${c.startLine}:${c.endLine}`, j]));
      positions.set(key, at);
    }
    const j = at.get(`${p.start}:${p.end}`);
    return j === undefined ? [] : (termsOfFile(p)[j] ?? []);
  };
}

function topSymbols(points: Point[], assignment: Int32Array, region: number, top = 3): string[] {
  const counts = new Map<string, number>();
  points.forEach((p, i) => {
    if (assignment[i] === region && p.symbol) counts.set(p.symbol, (counts.get(p.symbol) ?? 0) + 1);
  });
  return [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, top).map(([s]) => s);
}

async function readCache(source: MapSource): Promise<MapCache | undefined> {
  try {
    const cache = JSON.parse(await fs.readFile(path.join(source.contents.dir, CACHE_FILE), 'utf8')) as MapCache;
    const fresh = cache.format === CACHE_FORMAT && cache.modelId === source.contents.manifest.modelId && cache.indexCreatedAt === source.contents.manifest.createdAt;
    return fresh && typeof cache.points === 'object' && typeof cache.layout === 'string' ? cache : undefined;
  } catch {
    // Missing, unreadable or damaged: the map is laid out afresh and the cache rewritten.
    return undefined;
  }
}

/** The cached positions, when every folder's cache is of one and the same layout. */
function reusableCache(caches: (MapCache | undefined)[]): { layout: string; points: Map<string, [number, number]> } | undefined {
  if (caches.length === 0 || caches.some((c) => c === undefined || c.layout !== caches[0]!.layout)) return undefined;
  const points = new Map<string, [number, number]>();
  caches.forEach((c) => {
    for (const [key, at] of Object.entries(c!.points)) {
      if (Array.isArray(at) && at.length === 2 && Number.isFinite(at[0]) && Number.isFinite(at[1])) points.set(key, [at[0], at[1]]);
    }
  });
  return { layout: caches[0]!.layout, points };
}

async function writeCaches(sources: readonly MapSource[], points: Point[], xy: Float32Array, layout: string): Promise<void> {
  await Promise.all(
    sources.map(async (s, si) => {
      const own: Record<string, [number, number]> = {};
      points.forEach((p, i) => {
        if (p.source === si) own[p.key] = [xy[2 * i]!, xy[2 * i + 1]!];
      });
      const cache: MapCache = { format: CACHE_FORMAT, modelId: s.contents.manifest.modelId, indexCreatedAt: s.contents.manifest.createdAt, layout, points: own };
      await fs.mkdir(s.contents.dir, { recursive: true });
      await writeFileAtomic(path.join(s.contents.dir, CACHE_FILE), JSON.stringify(cache));
    }),
  );
}

function newLayoutId(): string {
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}
