import type { DupeOptions } from './types';

/**
 * Cosine above which two chunks count as semantic near-duplicates, per model: each model has its
 * own similarity scale. For nearby-code-small it was chosen on the bench corpus (2,624 eligible
 * chunks of six real package sources; figures in reports/bench-dupes.json): random pairs of chunks
 * from different files have a median cosine of 0.05 and a 99.9th percentile of 0.61; 244 of all
 * 3.4 million pairs reach 0.92, against 735 at 0.85. Reading eight pairs from each band, those in
 * 0.90-0.95 were mostly rewritten or copied code, while about half of those in 0.85-0.90 were
 * unrelated look-alikes (export lists, parallel field checks). BigCloneBench, which the issue names,
 * is not on this machine and played no part.
 *
 * nearby-code-base puts unrelated code a little closer (random pairs: median 0.12, 99.9th
 * percentile 0.68 on the same chunks), so its bar sits where it passes as many of all pairs as
 * the static model's does at 0.92: 304 reach 0.92, 183 reach 0.94 (the static model: 242, 160).
 */
const THRESHOLDS: Record<string, number> = { 'nearby-code-small': 0.92, 'nearby-code-base': 0.93 };
/** For other models, a stricter bar: contextual models put unrelated code closer together than static ones. */
const FALLBACK_THRESHOLD = 0.95;

/** The model's own bar (`dupeThreshold` in its nearby.json), else the one measured for it here, else the strict fallback. */
export function defaultThreshold(model: DupeModel): number {
  return model.dupeThreshold ?? THRESHOLDS[model.id] ?? FALLBACK_THRESHOLD;
}

/** What the near-duplicate defaults need to know of a model. */
export interface DupeModel {
  id: string;
  dupeThreshold?: number;
}

/** jscpd's own defaults for size (5 lines, 50 tokens), so the two tools' results compare. */
export function defaultDupeOptions(model: DupeModel): DupeOptions {
  return { minLines: 5, minTokens: 50, threshold: defaultThreshold(model), kinds: ['textual', 'semantic'] };
}
