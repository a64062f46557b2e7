import type { FileChunker } from '../core/index/indexer';
import type { Embedder } from '../core/embed/embedder';
import { compareFragments, defaultDupeOptions } from '../core/dupes';
import { tokenize } from '../core/dupes/tokenize';
import { embedFragment } from '../core/rootIndex';
import { rankByShape, shapeOf, similarDepth } from '../core/dupes/shape';
import { languageOf } from '../core/chunk/languages';
import { readPublicRows, type Split } from './suites';

/**
 * The public clone benchmarks through the product's own path: each function embedded as Find
 * Similar embeds a selection (`embedFragment`), pairs scored by the near-duplicate detectors'
 * own comparison (`compareFragments`), programs ranked as Find Similar ranks them (`rankByShape`).
 */

// ----------------------------------------------------------------------------- metrics

/** Area under the ROC curve: the chance a random clone scores above a random non-clone (ties half). */
export function rocAuc(scores: readonly number[], labels: readonly boolean[]): number {
  const order = scores.map((_, i) => i).sort((a, b) => scores[a]! - scores[b]!);
  let rankSum = 0;
  let positives = 0;
  for (let i = 0; i < order.length; ) {
    let j = i;
    while (j < order.length && scores[order[j]!] === scores[order[i]!]) j++;
    const midRank = (i + j + 1) / 2; // 1-based average rank of the tie group
    for (let k = i; k < j; k++) if (labels[order[k]!]) {
      rankSum += midRank;
      positives++;
    }
    i = j;
  }
  const negatives = labels.length - positives;
  if (positives === 0 || negatives === 0) return Number.NaN;
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

/** F1 when pairs scoring at least `threshold` are called clones. */
export function f1At(scores: readonly number[], labels: readonly boolean[], threshold: number): number {
  let tp = 0;
  let fp = 0;
  let fn = 0;
  scores.forEach((s, i) => {
    if (s >= threshold) labels[i] ? tp++ : fp++;
    else if (labels[i]) fn++;
  });
  return tp === 0 ? 0 : (2 * tp) / (2 * tp + fp + fn);
}

/** The threshold with the best F1 (tried at every distinct score), and that F1. */
export function bestF1(scores: readonly number[], labels: readonly boolean[]): { threshold: number; f1: number } {
  let best = { threshold: Number.POSITIVE_INFINITY, f1: 0 };
  for (const t of [...new Set(scores)]) {
    const f1 = f1At(scores, labels, t);
    if (f1 > best.f1) best = { threshold: t, f1 };
  }
  return best;
}

/**
 * MAP@R as CodeXGLUE's evaluator computes it: for each query, over its top R results (R = the
 * number of other items of its class), the precision at each relevant result, summed and divided
 * by R; averaged over queries.
 */
export function averagePrecisionAtR(ranked: readonly boolean[], r: number): number {
  let hits = 0;
  let sum = 0;
  for (let i = 0; i < Math.min(r, ranked.length); i++) {
    if (!ranked[i]) continue;
    hits++;
    sum += hits / (i + 1);
  }
  return r > 0 ? sum / r : 0;
}

// ----------------------------------------------------------------------------- BigCloneBench

export interface BigCloneReport {
  suite: 'bigclonebench';
  model: string;
  pairs: number;
  positives: number;
  roc_auc: number;
  best_f1: number;
  best_f1_threshold: number;
  /** F1 on test at the threshold that gave the best F1 on dev_pairs.jsonl. */
  f1_at_dev_threshold: number;
  dev_threshold: number;
  /** Per clone type: how many test clones, the AUC of that type against all non-clones, and the share found at the dev threshold. */
  by_type: Record<CloneType, { clones: number; roc_auc: number; recall_at_dev_threshold: number }>;
  seconds: number;
}

/** Identical after normalisation (layout, comments), identical but for names and literals, or neither. */
export type CloneType = 'identical' | 'renamed' | 'semantic';

export function cloneType(a: string, b: string, language: string): CloneType {
  const ta = tokenize(a, language);
  const tb = tokenize(b, language);
  const same = (x: Int32Array, y: Int32Array) => x.length === y.length && x.every((v, i) => v === y[i]);
  if (same(ta.raw, tb.raw)) return 'identical';
  if (same(ta.norm, tb.norm)) return 'renamed';
  return 'semantic';
}

export async function evaluateBigCloneBench(evalDir: string, chunker: FileChunker, embedder: Embedder, onProgress?: (done: number, total: number) => void): Promise<BigCloneReport> {
  const started = Date.now();
  const functions = new Map(readPublicRows('bigclonebench', 'functions.jsonl', evalDir).map((r) => [String(r['idx']), String(r['func'])]));
  const options = defaultDupeOptions(embedder.info);
  const vectors = new Map<string, Float32Array>();
  let done = 0;
  for (const [id, code] of functions) {
    vectors.set(id, await embedFragment(chunker, embedder, `${id}.java`, code));
    onProgress?.(++done, functions.size);
  }
  const score = (split: Split) => {
    const rows = readPublicRows('bigclonebench', `${split}_pairs.jsonl`, evalDir);
    const labels = rows.map((r) => Number(r['label']) === 1);
    const pairs = rows.map((r) => [String(r['id1']), String(r['id2'])] as const);
    const scores = pairs.map(([x, y]) => {
      const a = functions.get(x)!;
      const b = functions.get(y)!;
      const cosine = dot(vectors.get(x)!, vectors.get(y)!);
      return compareFragments({ text: a, language: 'java' }, { text: b, language: 'java', cosine, lines: b.split('\n').length }, options).score;
    });
    return { labels, pairs, scores };
  };
  const dev = score('dev');
  const test = score('test');
  const devBest = bestF1(dev.scores, dev.labels);
  const testBest = bestF1(test.scores, test.labels);
  const byType = {} as BigCloneReport['by_type'];
  const types = test.pairs.map(([x, y], i) => (test.labels[i] ? cloneType(functions.get(x)!, functions.get(y)!, 'java') : undefined));
  for (const type of ['identical', 'renamed', 'semantic'] as const) {
    const keep = test.labels.map((l, i) => !l || types[i] === type);
    const scores = test.scores.filter((_, i) => keep[i]);
    const labels = test.labels.filter((_, i) => keep[i]);
    const clones = labels.filter(Boolean).length;
    const found = test.scores.filter((s, i) => types[i] === type && s >= devBest.threshold).length;
    byType[type] = { clones, roc_auc: round(rocAuc(scores, labels)), recall_at_dev_threshold: clones ? round(found / clones) : 0 };
  }
  return {
    suite: 'bigclonebench',
    model: embedder.info.id,
    pairs: test.labels.length,
    positives: test.labels.filter(Boolean).length,
    roc_auc: round(rocAuc(test.scores, test.labels)),
    best_f1: round(testBest.f1),
    best_f1_threshold: round(testBest.threshold),
    f1_at_dev_threshold: round(f1At(test.scores, test.labels, devBest.threshold)),
    dev_threshold: round(devBest.threshold),
    by_type: byType,
    seconds: round((Date.now() - started) / 1000),
  };
}

// ----------------------------------------------------------------------------- POJ-104

export interface PojReport {
  suite: 'poj104';
  model: string;
  split: Split;
  programs: number;
  map_at_r: number;
  embed_seconds: number;
  rank_seconds: number;
  peak_rss_mb: number;
}

/** Every program queries all others of its split, ranked as Find Similar ranks hits (`rankByShape`). */
export async function evaluatePoj104(evalDir: string, split: Split, chunker: FileChunker, embedder: Embedder, onProgress?: (done: number, total: number) => void): Promise<PojReport> {
  const rows = readPublicRows('poj104', `${split}.jsonl`, evalDir);
  const labels = rows.map((r) => String(r['label']));
  const dim = embedder.info.dimension;
  const matrix = new Float32Array(rows.length * dim);
  let t = Date.now();
  for (let i = 0; i < rows.length; i++) {
    matrix.set(await embedFragment(chunker, embedder, `${i}.cpp`, String(rows[i]!['code'])), i * dim);
    onProgress?.(i + 1, rows.length);
  }
  const embedSeconds = (Date.now() - t) / 1000;
  t = Date.now();
  const shapes = rows.map((r, i) => shapeOf(String(r['code']), languageOf(`${i}.cpp`)));
  const perClass = new Map<string, number>();
  for (const l of labels) perClass.set(l, (perClass.get(l) ?? 0) + 1);
  const cosines = new Float32Array(rows.length);
  const scratch = new Float32Array(rows.length);
  let total = 0;
  for (let q = 0; q < rows.length; q++) {
    const query = matrix.subarray(q * dim, (q + 1) * dim);
    for (let j = 0; j < rows.length; j++) {
      let s = 0;
      const row = j * dim;
      for (let d = 0; d < dim; d++) s += query[d]! * matrix[row + d]!;
      cosines[j] = j === q ? Number.NEGATIVE_INFINITY : s;
    }
    const R = perClass.get(labels[q]!)! - 1;
    // Find Similar asked for R hits: the model's best similarDepth(R) (all at or above that
    // cosine, found in linear time, in cosine order), re-ranked by shape.
    scratch.set(cosines);
    const bar = kthLargest(scratch, Math.min(similarDepth(R), rows.length - 1));
    const candidates: number[] = [];
    for (let j = 0; j < rows.length; j++) if (j !== q && cosines[j]! >= bar) candidates.push(j);
    candidates.sort((a, b) => cosines[b]! - cosines[a]! || a - b);
    const top = rankByShape(shapes[q]!, candidates, (j) => cosines[j]!, (j) => shapes[j], R);
    total += averagePrecisionAtR(top.map(({ candidate }) => labels[candidate] === labels[q]), R);
  }
  return {
    suite: 'poj104',
    model: embedder.info.id,
    split,
    programs: rows.length,
    map_at_r: round(total / rows.length),
    embed_seconds: round(embedSeconds),
    rank_seconds: round((Date.now() - t) / 1000),
    peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
  };
}

/** The k-th largest value (1-based) of `xs`, which it reorders (quickselect). */
function kthLargest(xs: Float32Array, k: number): number {
  let lo = 0;
  let hi = xs.length - 1;
  const target = Math.min(Math.max(k, 1), xs.length) - 1;
  while (lo < hi) {
    const pivot = xs[(lo + hi) >> 1]!;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (xs[i]! > pivot) i++;
      while (xs[j]! < pivot) j--;
      if (i <= j) {
        const t = xs[i]!;
        xs[i++] = xs[j]!;
        xs[j--] = t;
      }
    }
    if (target <= j) hi = j;
    else if (target >= i) lo = i;
    else break;
  }
  return xs[target]!;
}

function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

function round(x: number): number {
  return Math.round(x * 10_000) / 10_000;
}
