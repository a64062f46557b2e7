import type { IndexStore } from '../store/indexStore';
import type { ScoredChunk, SearchFilter, StoredChunk } from '../store/records';
import { compileFilter } from '../store/vectorTable';
import { bandOf, relevanceOf, type Calibration } from './calibration';
import { queryTerms } from './codeTokens';
import { fuseRankings, weightsFor, type FusionWeights, type RankedChunk, type SearchMode } from './hybrid';

export interface RankOptions {
  k: number;
  mode: SearchMode;
  filter?: SearchFilter;
  /** Overrides the per-query weights of a hybrid search (for tuning). */
  weights?: FusionWeights;
}

// Each side of a hybrid search offers this many candidates (at least) to the fusion (dev splits:
// 100 against 50 gained on three suites of four, 30 lost on all).
const FUSION_CANDIDATES = 100;

/**
 * Ranks the chunks of one index for a query: by meaning (`vector`, the query's embedding), by
 * keywords, or both fused. Keyword-only scores are scaled so the best hit scores 1.
 */
export function rankChunks(store: IndexStore, query: string, vector: Float32Array | undefined, options: RankOptions): RankedChunk[] {
  const { k, mode } = options;
  const filter = options.filter ?? {};
  if (mode === 'vector' && vector) return byMeaning(store, vector, k, filter).map((h) => ({ ...h, vectorScore: h.score }));
  const candidates = Math.max(FUSION_CANDIDATES, k);
  const lexicalHits = store.lexical.search(query, mode === 'lexical' ? k : candidates, compileFilter(filter));
  if (mode === 'lexical' || !vector) {
    const best = lexicalHits[0]?.score ?? 1;
    return lexicalHits.map((h) => ({ ...h.chunk, score: h.score / best, matched: h.matched }));
  }
  const cosine = (c: StoredChunk) => {
    const v = store.vectorFor(c.hash);
    return v ? dot(v, vector) : undefined;
  };
  return fuseRankings(byMeaning(store, vector, candidates, filter), lexicalHits, options.weights ?? weightsFor(query), k, cosine);
}

/** A minor chunk (imports, a licence, a line or two: see `isMinor`) ranks by meaning as if its cosine were this much of what it is. */
export const MINOR_WEIGHT = 0.6;

/** The `k` best chunks by meaning, minor ones weighed down (their scores stay their cosines). */
function byMeaning(store: IndexStore, vector: Float32Array, k: number, filter: SearchFilter): ScoredChunk[] {
  const hits = store.search(vector, k + MINOR_LOOKAHEAD, filter);
  const weight = (h: ScoredChunk) => (h.minor && h.score > 0 ? MINOR_WEIGHT * h.score : h.score);
  return hits.sort((a, b) => weight(b) - weight(a)).slice(0, k);
}

/** Extra hits looked at so that chunks of substance can take the places of minor ones. */
const MINOR_LOOKAHEAD = 20;

/**
 * Completes what each hit says about itself: the query's terms it holds (hits found by meaning
 * alone did not say), its cosine, and, with a calibration, how likely it is to be relevant and
 * its band.
 */
export function explainHits(store: IndexStore, query: string, vector: Float32Array | undefined, hits: RankedChunk[], calibration: Calibration | undefined): RankedChunk[] {
  const terms = queryTerms(query);
  return hits.map((hit, i) => {
    const out: RankedChunk = { ...hit };
    out.matched ??= store.lexical.termsIn(hit.path, hit.startLine, hit.endLine, terms);
    if (out.vectorScore === undefined && vector) {
      const v = store.vectorFor(hit.hash);
      if (v) out.vectorScore = dot(v, vector);
    }
    if (calibration && out.vectorScore !== undefined) {
      out.relevance = relevanceOf({ cosine: out.vectorScore, coverage: terms.length ? out.matched.length / terms.length : 0, place: i + 1 }, calibration);
      out.band = bandOf(out.relevance, calibration);
    }
    return out;
  });
}

function dot(a: Float32Array, b: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i]! * b[i]!;
  return sum;
}
