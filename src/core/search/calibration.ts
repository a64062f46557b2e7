/**
 * What a hit's score means. A fused rank score reads as confidence but is not one: the top hit
 * scores 1 however poor it is. A model's calibration (fitted on dev splits, shipped in its
 * `nearby.json`) turns what is known about a hit (its cosine to the query, the share of the
 * query's terms it holds) into the likelihood that a reader would call it relevant, and that into
 * a band: strong, possible or weak.
 */
export interface Calibration {
  /** Logistic regression: P(relevant) = 1 / (1 + e^-(bias + cosine·x₁ + coverage·x₂ + rank·ln(place))). */
  bias: number;
  cosine: number;
  coverage: number;
  rank: number;
  /** Band thresholds on that likelihood: strong at or above `strong`, possible at or above `possible`. */
  strong: number;
  possible: number;
  /** Where it was fitted (suites, split, hits), for the model card. */
  fittedOn?: string;
}

export type RelevanceBand = 'strong' | 'possible' | 'weak';

/** The features a calibration reads: cosine of query and chunk, share of the query's terms in the chunk, place in the list (1-based). */
export interface HitFeatures {
  cosine: number;
  coverage: number;
  place: number;
}

const vectorOf = (f: HitFeatures) => [1, f.cosine, f.coverage, Math.log(f.place)];

export function relevanceOf(f: HitFeatures, c: Calibration): number {
  const x = vectorOf(f);
  return 1 / (1 + Math.exp(-(c.bias * x[0]! + c.cosine * x[1]! + c.coverage * x[2]! + c.rank * x[3]!)));
}

export function bandOf(p: number, c: Calibration): RelevanceBand {
  return p >= c.strong ? 'strong' : p >= c.possible ? 'possible' : 'weak';
}

export function isCalibration(v: unknown): v is Calibration {
  if (typeof v !== 'object' || v === null) return false;
  const c = v as Record<string, unknown>;
  return ['bias', 'cosine', 'coverage', 'rank', 'strong', 'possible'].every((k) => typeof c[k] === 'number' && Number.isFinite(c[k]));
}

/**
 * Fits the logistic regression by Newton's method (four parameters: a few iterations), with a
 * weight per example so that each suite counts as it should however many hits it has.
 */
export function fitCalibration(rows: readonly { f: HitFeatures; relevant: boolean; weight: number }[]): Pick<Calibration, 'bias' | 'cosine' | 'coverage' | 'rank'> {
  const n = 4;
  let w = new Array<number>(n).fill(0);
  for (let iteration = 0; iteration < 50; iteration++) {
    const grad = new Array<number>(n).fill(0);
    const hess = Array.from({ length: n }, (_, a) => Array.from({ length: n }, (_, b) => (a === b ? 1e-6 : 0)));
    for (const r of rows) {
      const x = vectorOf(r.f);
      const p = 1 / (1 + Math.exp(-x.reduce((s, v, i) => s + v * w[i]!, 0)));
      const y = r.relevant ? 1 : 0;
      for (let a = 0; a < n; a++) {
        grad[a]! += r.weight * (y - p) * x[a]!;
        for (let b = 0; b < n; b++) hess[a]![b]! += r.weight * p * (1 - p) * x[a]! * x[b]!;
      }
    }
    const step = solve(hess, grad);
    w = w.map((v, i) => v + step[i]!);
    if (Math.max(...step.map(Math.abs)) < 1e-9) break;
  }
  return { bias: w[0]!, cosine: w[1]!, coverage: w[2]!, rank: w[3]! };
}

/** Solves A·x = b by Gaussian elimination with partial pivoting (A: a small Hessian). */
function solve(a: number[][], b: number[]): number[] {
  const n = b.length;
  const m = a.map((row, i) => [...row, b[i]!]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(m[r]![c]!) > Math.abs(m[p]![c]!)) p = r;
    [m[c], m[p]] = [m[p]!, m[c]!];
    if (Math.abs(m[c]![c]!) < 1e-18) return new Array<number>(n).fill(0);
    for (let r = c + 1; r < n; r++) {
      const f = m[r]![c]! / m[c]![c]!;
      for (let k = c; k <= n; k++) m[r]![k]! -= f * m[c]![k]!;
    }
  }
  const x = new Array<number>(n).fill(0);
  for (let r = n - 1; r >= 0; r--) {
    let s = m[r]![n]!;
    for (let k = r + 1; k < n; k++) s -= m[r]![k]! * x[k]!;
    x[r] = s / m[r]![r]!;
  }
  return x;
}
