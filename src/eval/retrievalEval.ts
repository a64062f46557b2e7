import { mkdtemp, rm } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Embedder } from '../core/embed/embedder';
import type { FusionWeights, SearchMode } from '../core/search/hybrid';
import { rankChunks } from '../core/search/rank';
import { IndexStore } from '../core/store/indexStore';
import type { StoredChunk } from '../core/store/records';

/** One entry of the pool every query ranks. */
export interface CorpusEntry {
  code: string;
  language: string;
}

/** A natural-language query whose answer is exactly one corpus entry (by its place in the pool). */
export interface RetrievalQuery {
  query: string;
  answer: number;
  language: string;
}

export interface RetrievalSuite {
  corpus: readonly CorpusEntry[];
  queries: readonly RetrievalQuery[];
}

export interface RetrievalMetrics {
  'mrr@10': number;
  'ndcg@10': number;
  'recall@1': number;
  'recall@5': number;
  'recall@10': number;
}

export interface EvalReport {
  suite: string;
  model: string;
  mode: SearchMode;
  n: number;
  seconds: number;
  metrics: RetrievalMetrics;
  /** Entries every query ranks. */
  pool: number;
  /** The same metrics per language of the answers. */
  by_language: Record<string, RetrievalMetrics>;
}

const EXTENSIONS: Record<string, string> = { python: 'py', javascript: 'js', typescript: 'ts', go: 'go', ruby: 'rb', java: 'java', markdown: 'md' };

/** A suite's pool indexed through the product's own embedder, store and keyword index. */
export interface EvalCorpus {
  suite: RetrievalSuite;
  store: IndexStore;
  queryVectors: Float32Array[];
  indexSeconds: number;
  dispose(): Promise<void>;
}

/** Indexes every pool entry as one chunk and embeds every query. */
export async function buildCorpus(suite: RetrievalSuite, embedder: Embedder, onProgress?: (done: number, total: number) => void): Promise<EvalCorpus> {
  const pool = suite.corpus;
  const dir = await mkdtemp(path.join(os.tmpdir(), 'nearby-eval-'));
  const started = Date.now();
  const { store } = await IndexStore.open(dir, { modelId: embedder.info.id, dimension: embedder.info.dimension, chunkerVersion: 0 });
  const batch = 64;
  for (let i = 0; i < pool.length; i += batch) {
    const slice = pool.slice(i, i + batch);
    const vectors = await embedder.embedDocuments(slice.map((p) => p.code));
    slice.forEach((p, j) => {
      const chunk = corpusChunk(i + j, p);
      store.putFile(chunk.path, { mtimeMs: 0, size: p.code.length }, [chunk], [vectors[j]!], [p.code]);
    });
    onProgress?.(Math.min(i + batch, pool.length), pool.length);
  }
  const queryVectors: Float32Array[] = [];
  for (const q of suite.queries) queryVectors.push(await embedder.embedQuery(q.query));
  return { suite, store, queryVectors, indexSeconds: (Date.now() - started) / 1000, dispose: () => rm(dir, { recursive: true, force: true }) };
}

/** Asks every query in `mode` and scores the rank of its answer. */
export function scoreCorpus(corpus: EvalCorpus, suite: string, model: string, mode: SearchMode, weights?: FusionWeights): EvalReport {
  const t0 = Date.now();
  const { queries, corpus: pool } = corpus.suite;
  const ranks = queries.map((q, i) => {
    const options = { k: 10, mode, ...(weights ? { weights } : {}) };
    const hits = rankChunks(corpus.store, q.query, mode === 'lexical' ? undefined : corpus.queryVectors[i], options);
    const answer = corpusChunk(q.answer, pool[q.answer]!).path;
    const at = hits.findIndex((h) => h.path === answer);
    return at < 0 ? undefined : at + 1;
  });
  const byLanguage: Record<string, (number | undefined)[]> = {};
  queries.forEach((q, i) => (byLanguage[q.language] ??= []).push(ranks[i]));
  return {
    suite,
    model,
    mode,
    n: queries.length,
    pool: pool.length,
    seconds: round(corpus.indexSeconds + (Date.now() - t0) / 1000),
    metrics: metricsOf(ranks),
    by_language: Object.fromEntries(Object.entries(byLanguage).sort().map(([l, r]) => [l, metricsOf(r)])),
  };
}

/** A suite's reports, one per mode. */
export async function evaluateRetrieval(name: string, suite: RetrievalSuite, embedder: Embedder, modes: readonly SearchMode[], onProgress?: (done: number, total: number) => void): Promise<EvalReport[]> {
  const corpus = await buildCorpus(suite, embedder, onProgress);
  try {
    return modes.map((mode) => scoreCorpus(corpus, name, embedder.info.id, mode));
  } finally {
    await corpus.dispose();
  }
}

function corpusChunk(i: number, p: CorpusEntry): StoredChunk {
  const endLine = p.code.split('\n').length;
  return { path: `corpus/${i}.${EXTENSIONS[p.language] ?? 'txt'}`, startLine: 1, endLine, language: p.language, kind: p.language === 'markdown' ? 'doc' : 'code', hash: `entry-${i}` };
}

/** Metrics from the 1-based rank of each query's answer within the top 10 (undefined: not there). */
export function metricsOf(ranks: readonly (number | undefined)[]): RetrievalMetrics {
  const n = Math.max(ranks.length, 1);
  const within = (k: number) => ranks.filter((r) => r !== undefined && r <= k).length / n;
  return {
    'mrr@10': round(ranks.reduce<number>((s, r) => s + (r !== undefined && r <= 10 ? 1 / r : 0), 0) / n),
    'ndcg@10': round(ranks.reduce<number>((s, r) => s + (r !== undefined && r <= 10 ? 1 / Math.log2(r + 1) : 0), 0) / n),
    'recall@1': round(within(1)),
    'recall@5': round(within(5)),
    'recall@10': round(within(10)),
  };
}

function round(x: number): number {
  return Math.round(x * 10_000) / 10_000;
}
