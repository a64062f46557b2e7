import type { ScoredChunk, StoredChunk } from '../store/records';
import type { RelevanceBand } from './calibration';
import { looksLikeIdentifier } from './codeTokens';
import type { LexicalHit } from './lexicalIndex';

export type SearchMode = 'hybrid' | 'vector' | 'lexical';
export const SEARCH_MODES: readonly SearchMode[] = ['hybrid', 'vector', 'lexical'];

export interface RankedChunk extends ScoredChunk {
  /** Cosine similarity between the query and the chunk, when known. */
  vectorScore?: number;
  /** Query terms found in the chunk (keyword side of the ranking). */
  matched?: string[];
  /** How likely the hit is to be relevant, from the model's calibration (see calibration.ts). */
  relevance?: number;
  band?: RelevanceBand;
}

export interface FusionWeights {
  vector: number;
  lexical: number;
}

/**
 * How much each side counts, chosen on the dev splits (scripts/tune-fusion.ts; nearby-code-small
 * v3: held-out pairs, CoSQA, CodeSearchNet Ruby and the real-repository dev questions). Sentences
 * weigh meaning 1 against keywords 0.75 (mean of the four 0.583; 0.579 at 1:1, 0.569 at 1:2;
 * reciprocal-rank fusion, used before, peaked at 0.559). Checked again for v4: 0.592, against
 * 0.594 at 1:0.5, with the real-repository questions for 0.75. Names of code (`parseRange`,
 * `max_retries`) lean on keywords.
 */
export function weightsFor(query: string): FusionWeights {
  return looksLikeIdentifier(query) ? { vector: 0.25, lexical: 1 } : { vector: 1, lexical: 0.75 };
}

function keyOf(c: StoredChunk): string {
  return `${c.path}\0${c.startLine}\0${c.endLine}`;
}

/**
 * Fuses a vector ranking and a keyword ranking by their scores: each side scaled to 0..1 over the
 * candidates (cosines and BM25 scores live on different scales), then a weighted mean; a chunk
 * the keyword side did not offer counts 0 there. Scores, unlike ranks, keep how far apart two hits
 * are: a keyword match far ahead of the rest stays ahead. `cosine` gives the vector score of
 * keyword-only candidates, so every hit can explain itself.
 */
export function fuseRankings(
  vectorHits: readonly ScoredChunk[],
  lexicalHits: readonly LexicalHit[],
  weights: FusionWeights,
  k: number,
  cosine: (c: StoredChunk) => number | undefined,
): RankedChunk[] {
  const fused = new Map<string, RankedChunk & { lexical: number }>();
  for (const hit of vectorHits) fused.set(keyOf(hit), { ...hit, vectorScore: hit.score, lexical: 0 });
  for (const hit of lexicalHits) {
    const key = keyOf(hit.chunk);
    const seen = fused.get(key);
    if (seen) {
      seen.lexical = hit.score;
      seen.matched = hit.matched;
    } else {
      const v = cosine(hit.chunk);
      fused.set(key, { ...hit.chunk, score: 0, lexical: hit.score, matched: hit.matched, ...(v !== undefined ? { vectorScore: v } : {}) });
    }
  }
  const all = [...fused.values()];
  let vLo = Infinity;
  let vHi = -Infinity;
  let lHi = 0;
  for (const h of all) {
    vLo = Math.min(vLo, h.vectorScore ?? Infinity);
    vHi = Math.max(vHi, h.vectorScore ?? -Infinity);
    lHi = Math.max(lHi, h.lexical);
  }
  for (const h of all) {
    const v = vHi > vLo && h.vectorScore !== undefined ? (h.vectorScore - vLo) / (vHi - vLo) : vHi === vLo && h.vectorScore !== undefined ? 1 : 0;
    const l = lHi > 0 ? h.lexical / lHi : 0;
    h.score = (weights.vector * v + weights.lexical * l) / (weights.vector + weights.lexical);
  }
  all.sort((a, b) => b.score - a.score || (b.vectorScore ?? 0) - (a.vectorScore ?? 0));
  return all.slice(0, k).map(({ lexical: _, ...hit }) => hit);
}
