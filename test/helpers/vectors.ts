import { seededRandom } from '../../src/core/random';

/** Deterministic pseudo-random unit vectors, so store tests need no model. */
export function randomUnitVectors(count: number, dimension: number, seed = 1): Float32Array[] {
  const random = seededRandom(seed);
  const next = () => random() - 0.5;
  return Array.from({ length: count }, () => {
    const v = new Float32Array(dimension);
    let norm = 0;
    for (let i = 0; i < dimension; i++) {
      v[i] = next();
      norm += v[i]! * v[i]!;
    }
    norm = Math.sqrt(norm);
    for (let i = 0; i < dimension; i++) v[i]! /= norm;
    return v;
  });
}
