import { seededRandom } from '../random';
import { createDotKernel } from '../store/dotKernel';

/**
 * Where each chunk goes on the map: a 2-D layout of the index's vectors that keeps neighbours
 * together. PCA (the two directions of most variance) is instant but keeps few neighbours: code
 * embeddings spread their variance over many directions. UMAP on the exact neighbour graph,
 * started from the PCA layout so that runs are stable, keeps five times as many (README, "The map").
 */

/**
 * Nearest neighbours by cosine, best first: row r of the graph is point `rows[r]` (point r when
 * `rows` is absent), its neighbours at `indices[r * k + j]`, `cosines` alike.
 */
export interface NeighbourGraph {
  k: number;
  indices: Int32Array;
  cosines: Float32Array;
  rows?: number[];
}

/**
 * The exact `k` nearest neighbours of points `queries` (default all) among points `among` (default
 * all), a point never its own neighbour. Points are `n` unit vectors of `d` values, row-major;
 * they are quantized to int8 as the index stores them and compared with the search kernel:
 * queries x candidates dot products, so the caller bounds both.
 */
export function neighbourGraph(vectors: Float32Array, n: number, d: number, k: number, options: { queries?: number[]; among?: number[] } = {}): NeighbourGraph {
  const among = options.among ?? Array.from({ length: n }, (_, i) => i);
  const queries = options.queries ?? Array.from({ length: n }, (_, i) => i);
  k = Math.max(0, Math.min(k, among.length - 1));
  const kernel = createDotKernel(d);
  kernel.reserve(among.length);
  const m = kernel.matrix();
  const stride = kernel.stride;
  const inv = new Float64Array(n);
  const ints = new Int8Array(n * stride);
  for (let i = 0; i < n; i++) {
    let maxAbs = 0;
    for (let j = 0; j < d; j++) maxAbs = Math.max(maxAbs, Math.abs(vectors[i * d + j]!));
    const scale = maxAbs > 0 ? 127 / maxAbs : 0;
    let norm2 = 0;
    for (let j = 0; j < d; j++) {
      const x = Math.round(vectors[i * d + j]! * scale);
      ints[i * stride + j] = x;
      norm2 += x * x;
    }
    inv[i] = norm2 > 0 ? 1 / Math.sqrt(norm2) : 0;
  }
  among.forEach((p, r) => m.set(ints.subarray(p * stride, p * stride + stride), r * stride));
  const indices = new Int32Array(queries.length * k);
  const cosines = new Float32Array(queries.length * k);
  const q = kernel.query();
  const bestIdx = new Int32Array(k);
  const bestCos = new Float64Array(k);
  queries.forEach((i, row) => {
    for (let j = 0; j < stride; j++) q[j] = ints[i * stride + j]!;
    const dots = kernel.run(among.length);
    let filled = 0;
    for (let r = 0; r < among.length; r++) {
      const p = among[r]!;
      if (p === i) continue;
      const c = dots[r]! * inv[p]!;
      if (filled === k && c <= bestCos[k - 1]!) continue;
      // Insertion into the short sorted list of the best so far.
      let at = filled < k ? filled++ : k - 1;
      while (at > 0 && bestCos[at - 1]! < c) {
        bestCos[at] = bestCos[at - 1]!;
        bestIdx[at] = bestIdx[at - 1]!;
        at--;
      }
      bestCos[at] = c;
      bestIdx[at] = p;
    }
    for (let j = 0; j < k; j++) {
      indices[row * k + j] = bestIdx[j]!;
      cosines[row * k + j] = bestCos[j]! * inv[i]!;
    }
  });
  return { k, indices, cosines, ...(options.queries ? { rows: queries } : {}) };
}

/**
 * The first `k` neighbours of each row of `graph` (k at most its own), for the points `rows` of
 * the graph (all when absent): a graph over those points, in that order.
 */
export function firstNeighbours(graph: NeighbourGraph, k: number, rows?: readonly number[]): NeighbourGraph {
  const picked = rows ?? Array.from({ length: graph.indices.length / graph.k }, (_, i) => i);
  const indices = new Int32Array(picked.length * k);
  const cosines = new Float32Array(picked.length * k);
  picked.forEach((r, i) => {
    indices.set(graph.indices.subarray(r * graph.k, r * graph.k + k), i * k);
    cosines.set(graph.cosines.subarray(r * graph.k, r * graph.k + k), i * k);
  });
  return { k, indices, cosines, ...(rows ? { rows: [...rows] } : {}) };
}

/** The dot product of rows i and j of a row-major matrix of `d` columns (the cosine, for unit rows). */
export function rowDot(vectors: Float32Array, d: number, i: number, j: number): number {
  let s = 0;
  for (let x = 0; x < d; x++) s += vectors[i * d + x]! * vectors[j * d + x]!;
  return s;
}

/** Rows used to estimate the covariance: plenty for two directions, and n·d² stays small. */
const PCA_SAMPLE = 1500;

/** The first two principal components of the rows, as `x0, y0, x1, y1, …`. */
export function pcaLayout(vectors: Float32Array, n: number, d: number): Float32Array {
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j]! += vectors[i * d + j]! / n;
  const step = Math.max(1, Math.floor(n / PCA_SAMPLE));
  const cov = new Float64Array(d * d);
  const row = new Float64Array(d);
  for (let i = 0; i < n; i += step) {
    for (let j = 0; j < d; j++) row[j] = vectors[i * d + j]! - mean[j]!;
    for (let a = 0; a < d; a++) {
      const ra = row[a]!;
      if (ra === 0) continue;
      const off = a * d;
      for (let b = a; b < d; b++) cov[off + b]! += ra * row[b]!;
    }
  }
  for (let a = 0; a < d; a++) for (let b = 0; b < a; b++) cov[a * d + b] = cov[b * d + a]!;
  const axes = [powerIteration(cov, d, []), undefined as Float64Array | undefined];
  axes[1] = powerIteration(cov, d, [axes[0]!]);
  const out = new Float32Array(2 * n);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < 2; c++) {
      let s = 0;
      const axis = axes[c]!;
      for (let j = 0; j < d; j++) s += (vectors[i * d + j]! - mean[j]!) * axis[j]!;
      out[2 * i + c] = s;
    }
  }
  return out;
}

/** The leading eigenvector of a symmetric matrix, orthogonal to `found`. */
function powerIteration(m: Float64Array, d: number, found: Float64Array[]): Float64Array {
  const random = seededRandom(found.length + 1);
  let v: Float64Array = Float64Array.from({ length: d }, () => random() - 0.5);
  for (let iter = 0; iter < 200; iter++) {
    for (const f of found) {
      let dot = 0;
      for (let j = 0; j < d; j++) dot += v[j]! * f[j]!;
      for (let j = 0; j < d; j++) v[j]! -= dot * f[j]!;
    }
    const next = new Float64Array(d);
    for (let a = 0; a < d; a++) {
      let s = 0;
      const off = a * d;
      for (let b = 0; b < d; b++) s += m[off + b]! * v[b]!;
      next[a] = s;
    }
    let norm = 0;
    for (let j = 0; j < d; j++) norm += next[j]! * next[j]!;
    norm = Math.sqrt(norm);
    if (norm === 0) return v;
    let change = 0;
    for (let j = 0; j < d; j++) {
      next[j]! /= norm;
      change += Math.abs(next[j]! - v[j]!);
    }
    v = next;
    if (change < 1e-9) break;
  }
  return v;
}

export interface UmapOptions {
  epochs?: number;
  negativeRate?: number;
  seed?: number;
  /** Called between slices of the optimisation; resolving later lets other work in (searches). */
  yieldEvery?: () => Promise<void>;
}

/**
 * The similarity curve on the map, 1 / (1 + a·d^2b) with a = b = 1, and the push between
 * unrelated points (40 negative samples per edge).
 * Chosen on the dev projects (nock / Whoosh; share of the 10 nearest neighbours kept, README "The
 * map"): UMAP's defaults (its curve for min_dist 0.1, 5 negative samples per edge) kept 0.513 /
 * 0.458; more negative samples keep neighbours closer (10: 0.541 / 0.483); the Cauchy curve of
 * t-SNE (a = b = 1) needs no power function, so 40 samples cost less than 10 with UMAP's curve,
 * and keep 0.555 / 0.524. More push moves the picture from UMAP's towards t-SNE's, which keeps
 * neighbours best (scikit-learn's t-SNE kept 0.561 on Falcon, this 0.511, UMAP's defaults 0.447).
 */
const MAP_CURVE_A = 1;

/**
 * UMAP (McInnes et al. 2018) of the neighbour graph, started from `init` (PCA): `x0, y0, x1, y1, …`.
 * The algorithm as published and as umap-js implements it (fuzzy simplicial set from the k-NN
 * distances, then stochastic gradient descent with negative sampling), written over typed arrays
 * with the curve and push chosen at `MAP_CURVE_A`: umap-js keeps points as arrays of arrays and edges in
 * hash maps, and took 14.6 s for Falcon's 4,675 chunks where this takes about 2 (README, "The map").
 */
export async function umapLayout(graph: NeighbourGraph, n: number, init: Float32Array, options: UmapOptions = {}): Promise<Float32Array> {
  const { head, tail, weight } = fuzzyGraph(graph, n);
  const epochs = options.epochs ?? (n <= 10_000 ? 200 : Math.max(60, Math.round(200 * (10_000 / n))));
  const a = MAP_CURVE_A;
  const negativeRate = options.negativeRate ?? 40;
  const xy = scaledInit(init, n);

  let maxWeight = 0;
  for (const w of weight) maxWeight = Math.max(maxWeight, w);
  const edges = weight.length;
  // An edge is sampled once every `perSample` epochs: the strongest every epoch, weak ones seldom.
  const perSample = new Float64Array(edges);
  const nextSample = new Float64Array(edges);
  const perNegative = new Float64Array(edges);
  const nextNegative = new Float64Array(edges);
  for (let e = 0; e < edges; e++) {
    perSample[e] = nextSample[e] = maxWeight / weight[e]!;
    perNegative[e] = nextNegative[e] = perSample[e]! / negativeRate;
  }
  // mulberry32 (as `seededRandom`), inline: the negative samples are most of the work.
  let state = (options.seed ?? 42) >>> 0;
  let sliceStart = Date.now();
  for (let epoch = 1; epoch <= epochs; epoch++) {
    const alpha = 1 - (epoch - 1) / epochs;
    // Gradients are clipped to ±4 (as UMAP does) and scaled by the learning rate.
    const hi = 4 * alpha;
    for (let e = 0; e < edges; e++) {
      if (nextSample[e]! > epoch) continue;
      const i = head[e]!;
      const j = tail[e]!;
      let xi = xy[2 * i]!;
      let yi = xy[2 * i + 1]!;
      const dx = xi - xy[2 * j]!;
      const dy = yi - xy[2 * j + 1]!;
      const d2 = dx * dx + dy * dy;
      if (d2 > 0) {
        // The pull along the Cauchy curve 1 / (1 + a d²).
        const coeff = (-2 * a) / (a * d2 + 1);
        const gx = Math.max(-hi, Math.min(hi, coeff * dx * alpha));
        const gy = Math.max(-hi, Math.min(hi, coeff * dy * alpha));
        xi += gx;
        yi += gy;
        xy[2 * j]! -= gx;
        xy[2 * j + 1]! -= gy;
      }
      nextSample[e]! += perSample[e]!;
      const negatives = Math.floor((epoch - nextNegative[e]!) / perNegative[e]!);
      for (let s = 0; s < negatives; s++) {
        state = (state + 0x6d2b79f5) >>> 0;
        let t = Math.imul(state ^ (state >>> 15), state | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        const k = Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n);
        if (k === i) continue;
        const rx = xi - xy[2 * k]!;
        const ry = yi - xy[2 * k + 1]!;
        const r2 = rx * rx + ry * ry;
        if (r2 <= 0) continue;
        // The push between unrelated points, from the same curve.
        const coeff = 2 / ((0.001 + r2) * (a * r2 + 1));
        xi += Math.max(-hi, Math.min(hi, coeff * rx * alpha));
        yi += Math.max(-hi, Math.min(hi, coeff * ry * alpha));
      }
      xy[2 * i] = xi;
      xy[2 * i + 1] = yi;
      nextNegative[e]! += negatives * perNegative[e]!;
    }
    if (options.yieldEvery && Date.now() - sliceStart > 50) {
      await options.yieldEvery();
      sliceStart = Date.now();
    }
  }
  return xy;
}

/** The PCA layout scaled to UMAP's usual starting box, ±10. */
function scaledInit(init: Float32Array, n: number): Float32Array {
  const [lo, hi] = bounds(init);
  const xy = new Float32Array(2 * n);
  for (let i = 0; i < n; i++) {
    xy[2 * i] = ((init[2 * i]! - lo[0]) / (hi[0] - lo[0] || 1)) * 20 - 10;
    xy[2 * i + 1] = ((init[2 * i + 1]! - lo[1]) / (hi[1] - lo[1] || 1)) * 20 - 10;
  }
  return xy;
}

/**
 * UMAP's fuzzy simplicial set: each point's neighbour distances turned into memberships by its own
 * scale (so dense and sparse regions weigh alike), then the two directions of each edge joined
 * as a fuzzy union. Edges as parallel arrays, each once.
 */
function fuzzyGraph(graph: NeighbourGraph, n: number): { head: Int32Array; tail: Int32Array; weight: Float64Array } {
  const k = graph.k;
  const target = Math.log2(k);
  const directed = new Map<number, number>();
  const dist = new Float64Array(k);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < k; j++) dist[j] = Math.sqrt(Math.max(0, 2 - 2 * graph.cosines[i * k + j]!));
    let rho = 0;
    for (let j = 0; j < k; j++) {
      if (dist[j]! > 0) {
        rho = dist[j]!;
        break;
      }
    }
    // Binary search for the scale at which the memberships add up to log2(k).
    let lo = 0;
    let hi = Infinity;
    let sigma = 1;
    for (let iter = 0; iter < 64; iter++) {
      let sum = 0;
      for (let j = 0; j < k; j++) {
        const over = dist[j]! - rho;
        sum += over > 0 ? Math.exp(-over / sigma) : 1;
      }
      if (Math.abs(sum - target) < 1e-5) break;
      if (sum > target) {
        hi = sigma;
        sigma = (lo + hi) / 2;
      } else {
        lo = sigma;
        sigma = hi === Infinity ? sigma * 2 : (lo + hi) / 2;
      }
    }
    sigma = Math.max(sigma, 1e-3 * meanOf(dist));
    for (let j = 0; j < k; j++) {
      const over = dist[j]! - rho;
      const w = over > 0 ? Math.exp(-over / sigma) : 1;
      directed.set(i * n + graph.indices[i * k + j]!, w);
    }
  }
  const head: number[] = [];
  const tail: number[] = [];
  const weight: number[] = [];
  for (const [key, w] of directed) {
    const i = Math.floor(key / n);
    const j = key - i * n;
    const back = directed.get(j * n + i);
    if (back !== undefined && j < i) continue; // the pair is taken once, from its smaller end
    const union = back === undefined ? w : w + back - w * back;
    head.push(i);
    tail.push(j);
    weight.push(union);
  }
  return { head: Int32Array.from(head), tail: Int32Array.from(tail), weight: Float64Array.from(weight) };
}

function meanOf(a: Float64Array): number {
  let s = 0;
  for (const x of a) s += x;
  return a.length > 0 ? s / a.length : 0;
}

/** Per axis, the least and greatest coordinate of an `x0, y0, …` layout. */
export function bounds(xy: Float32Array): [[number, number], [number, number]] {
  const lo: [number, number] = [Infinity, Infinity];
  const hi: [number, number] = [-Infinity, -Infinity];
  for (let i = 0; i < xy.length; i++) {
    const c = i & 1;
    lo[c] = Math.min(lo[c], xy[i]!);
    hi[c] = Math.max(hi[c], xy[i]!);
  }
  return [lo, hi];
}

/**
 * The map's honesty: the share of each point's `k` nearest neighbours in the full space that are
 * also among its `k` nearest on the map, averaged over the points of `graph` (its `rows`). Ties
 * count as kept: a map neighbour as similar as the k-th nearest in the full space is one of them
 * (copies of one chunk are interchangeable). `cosine(i, j)` compares two points in the full space.
 */
export function neighbourPreservation(graph: NeighbourGraph, xy: Float32Array, n: number, cosine: (i: number, j: number) => number, k = 10): number {
  k = Math.min(k, graph.k, n - 1);
  const rows = graph.rows ?? Array.from({ length: n }, (_, i) => i);
  if (k <= 0 || rows.length === 0) return 1;
  const nearD = new Float64Array(k);
  const nearI = new Int32Array(k);
  let kept = 0;
  rows.forEach((i, row) => {
    let filled = 0;
    const xi = xy[2 * i]!;
    const yi = xy[2 * i + 1]!;
    for (let r = 0; r < n; r++) {
      if (r === i) continue;
      const dx = xy[2 * r]! - xi;
      const dy = xy[2 * r + 1]! - yi;
      const dist = dx * dx + dy * dy;
      if (filled === k && dist >= nearD[k - 1]!) continue;
      let at = filled < k ? filled++ : k - 1;
      while (at > 0 && nearD[at - 1]! > dist) {
        nearD[at] = nearD[at - 1]!;
        nearI[at] = nearI[at - 1]!;
        at--;
      }
      nearD[at] = dist;
      nearI[at] = r;
    }
    const full = new Set(Array.from(graph.indices.subarray(row * graph.k, row * graph.k + k)));
    const kth = cosine(i, graph.indices[row * graph.k + k - 1]!);
    for (let j = 0; j < k; j++) if (full.has(nearI[j]!) || cosine(i, nearI[j]!) >= kth - 1e-6) kept++;
  });
  return kept / (rows.length * k);
}
