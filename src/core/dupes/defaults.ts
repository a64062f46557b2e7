import type { DupeOptions } from './types';

/**
 * Cosine above which two chunks count as semantic near-duplicates, per model: each model has its
 * own similarity scale. The value for nearby-code-small was chosen on 3,108 eligible chunks from six
 * real package sources (scripts/bench-dupes.mjs writes the evidence to its report): in 200,000
 * random chunk pairs from different files the largest cosine was 0.846, and in a hand-read sample
 * pairs above 0.92 were rewritten or copied code while the 0.85-0.90 band was half unrelated
 * look-alikes (export lists, parallel field checks). BigCloneBench, which the issue names, is not
 * available on this machine, so it played no part.
 */
const THRESHOLDS: Record<string, number> = { 'nearby-code-small': 0.92 };
/** For other models, a stricter bar: contextual models put unrelated code closer together than static ones. */
const FALLBACK_THRESHOLD = 0.95;

export function defaultThreshold(modelId: string): number {
  return THRESHOLDS[modelId] ?? FALLBACK_THRESHOLD;
}

/** jscpd's own defaults for size (5 lines, 50 tokens), so the two tools' results compare. */
export function defaultDupeOptions(modelId: string): DupeOptions {
  return { minLines: 5, minTokens: 50, threshold: defaultThreshold(modelId), kinds: ['textual', 'semantic'] };
}
