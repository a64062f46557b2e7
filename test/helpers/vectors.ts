/** Deterministic pseudo-random unit vectors (mulberry32), so store tests need no model. */
export function randomUnitVectors(count: number, dimension: number, seed = 1): Float32Array[] {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296 - 0.5;
  };
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
