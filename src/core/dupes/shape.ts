import { tokenize } from './tokenize';

/**
 * A fragment's shape, in two parts. Its exact tokens two and three at a time: two programs that
 * solve one problem share its constants, format strings, loop headers and calls in the same order
 * even when different people wrote them. And its structure, with every name, string and number
 * made one token, three to five at a time: the same control flow under other names. A model
 * trained to match descriptions to code sees neither. Counts are damped (1 + ln n) so a long run
 * of one statement does not outweigh the rest, and nothing is weighed by how rare it is in a
 * corpus: a shape needs no corpus statistics, so Find Similar can compare any two texts without
 * an index of its own. Each part is scaled to its share of unit length and their keys never meet,
 * so the cosine of two shapes is the parts' cosines weighed by their shares.
 */
export interface Shape {
  /** Hashed n-grams, each once. */
  keys: Uint32Array;
  /** Their damped counts, each part scaled to the square root of its share. */
  weights: Float32Array;
}

/**
 * The exact part: pairs and triples (single tokens such as `(`, `=`, `def` make any two short
 * fragments of a language look alike). On the dev splits, at MEANING_WEIGHT and without the
 * structure part, 2-3 against 1-3: POJ-104 0.436 / 0.437, BigCloneBench 0.830 / 0.819.
 */
const EXACT = { shortest: 2, longest: 3, seed: 0x811c9dc5 };
/** The structure part: runs of three to five normalized tokens. */
const STRUCTURE = { shortest: 3, longest: 5, seed: 0x2545f491 };
/**
 * The structure part's share. On the dev splits (POJ-104 / BigCloneBench at MEANING_WEIGHT): none
 * 0.436 / 0.830, 0.2 0.452 / 0.833, 0.35 0.461 / 0.832, 0.5 0.465 / 0.829; alone 0.440 / 0.663.
 */
export const STRUCTURE_SHARE = 0.35;

/**
 * Find Similar ranks by this much of the model's cosine and the rest of the shapes' cosine.
 * Chosen on the clone benchmarks' dev splits (POJ-104 MAP@R / BigCloneBench ROC-AUC): meaning
 * alone 0.307 / 0.843, exact tokens (one to three) alone 0.455 / 0.728, 0.2 of meaning 0.449 /
 * 0.800, 0.3 0.437 / 0.819, 0.4 0.422 / 0.831: 0.3 has the best sum (with the structure part, 0.2:
 * 0.472 / 0.813, 0.3: 0.461 / 0.832). The near-duplicate groups keep their own rules.
 */
export const MEANING_WEIGHT = 0.3;

/** How many hits Find Similar re-ranks by shape for `k` shown: the model's best, ten deep per hit. */
export function similarDepth(k: number): number {
  return Math.max(200, 10 * k);
}

export function shapeOf(text: string, language: string): Shape {
  const tokens = tokenize(text, language);
  const exact = damped(grams(tokens.raw, EXACT), 1 - STRUCTURE_SHARE);
  const structure = damped(grams(tokens.norm, STRUCTURE), STRUCTURE_SHARE);
  const keys = new Uint32Array(exact.keys.length + structure.keys.length);
  keys.set(exact.keys);
  keys.set(structure.keys, exact.keys.length);
  const weights = new Float32Array(keys.length);
  weights.set(exact.weights);
  weights.set(structure.weights, exact.keys.length);
  return { keys, weights };
}

/** How often each run of `shortest`..`longest` ids occurs, by hash (`seed` keeps parts apart). */
function grams(ids: Int32Array, { shortest, longest, seed }: { shortest: number; longest: number; seed: number }): Map<number, number> {
  const counts = new Map<number, number>();
  for (let i = 0; i < ids.length; i++) {
    let h = seed;
    for (let n = 1; n <= longest && i + n <= ids.length; n++) {
      // Each length mixes in its own step, so a run never collides with the longer run it starts.
      h = mix(h ^ ids[i + n - 1]!, n);
      if (n >= shortest) counts.set(h, (counts.get(h) ?? 0) + 1);
    }
  }
  return counts;
}

/** Damped counts scaled to length sqrt(share); none when there are no runs. */
function damped(counts: Map<number, number>, share: number): Shape {
  const keys = Uint32Array.from(counts.keys());
  const weights = new Float32Array(keys.length);
  let norm = 0;
  keys.forEach((key, i) => {
    const w = 1 + Math.log(counts.get(key)!);
    weights[i] = w;
    norm += w * w;
  });
  const scale = norm > 0 ? Math.sqrt(share / norm) : 0;
  for (let i = 0; i < weights.length; i++) weights[i]! *= scale;
  return { keys, weights };
}

/** Cosine of two shapes, in 0..1 (no run of tokens in common: 0). */
export function shapeCosine(a: Shape, b: Shape): number {
  return new ShapeProbe(a).cosine(b);
}

/**
 * One shape laid out for many comparisons: an open-addressed table a quarter full and small
 * enough for the first cache levels, so each of the other shape's n-grams costs one or two probes
 * (Find Similar compares the selection with 200 candidates, POJ-104 each program with 4,990).
 */
class ShapeProbe {
  private readonly keys: Uint32Array;
  /** 0 marks an empty slot: every present n-gram weighs more. */
  private readonly weights: Float32Array;
  private readonly mask: number;

  constructor(shape: Shape) {
    let size = 16;
    while (size < 4 * shape.keys.length) size *= 2;
    this.keys = new Uint32Array(size);
    this.weights = new Float32Array(size);
    this.mask = size - 1;
    shape.keys.forEach((key, i) => {
      let slot = key & this.mask;
      while (this.weights[slot] !== 0) slot = (slot + 1) & this.mask;
      this.keys[slot] = key;
      this.weights[slot] = shape.weights[i]!;
    });
  }

  cosine(other: Shape): number {
    const { keys, weights, mask } = this;
    const otherKeys = other.keys;
    const otherWeights = other.weights;
    let sum = 0;
    for (let i = 0; i < otherKeys.length; i++) {
      const key = otherKeys[i]!;
      let slot = key & mask;
      let w = weights[slot]!;
      while (w !== 0 && keys[slot] !== key) {
        slot = (slot + 1) & mask;
        w = weights[slot]!;
      }
      sum += w * otherWeights[i]!;
    }
    return Math.min(1, sum);
  }
}

/** Find Similar's score: the model's cosine and the shapes' cosine, weighed by MEANING_WEIGHT. */
function similarityOf(cosine: number, shape: number): number {
  return MEANING_WEIGHT * cosine + (1 - MEANING_WEIGHT) * shape;
}

export interface ShapeRanked<T> {
  candidate: T;
  /** `similarityOf` its cosine and its shape's cosine with the selection's. */
  score: number;
  shape: number;
}

/**
 * Find Similar's ranking: candidates (the model's best `similarDepth(k)` for the selection) re-ranked
 * by `similarityOf`, best first, ties in the order given; the best `k`. A candidate without a shape
 * (its text could not be read again) counts as sharing no token. `rankWeightOf` weighs a
 * candidate's place (not its score) down, as search weighs tests down.
 */
export function rankByShape<T>(selection: Shape, candidates: readonly T[], cosineOf: (c: T) => number, shapeOfCandidate: (c: T) => Shape | undefined, k: number, rankWeightOf: (c: T) => number = () => 1): ShapeRanked<T>[] {
  const probe = new ShapeProbe(selection);
  return candidates
    .map((candidate, i) => {
      const found = shapeOfCandidate(candidate);
      const shape = found ? probe.cosine(found) : 0;
      const score = similarityOf(cosineOf(candidate), shape);
      return { candidate, score, shape, place: score * rankWeightOf(candidate), i };
    })
    .sort((a, b) => b.place - a.place || a.i - b.i)
    .slice(0, k)
    .map(({ candidate, score, shape }) => ({ candidate, score, shape }));
}

function mix(h: number, step: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) + step;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}
