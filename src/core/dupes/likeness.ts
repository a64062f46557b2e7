import { TextualIndex } from './textual';
import { tokenize } from './tokenize';
import type { DupeKind, DupeOptions } from './types';

/** Why a Find Similar hit would sit in one near-duplicate group with the selection. */
export interface Likeness {
  kind: DupeKind;
  /** Share of identical tokens (textual) or embedding cosine (semantic), as in the groups. */
  similarity: number;
  /** Lines of the hit that the textual clone covers (the whole hit for a semantic one). */
  lines: number;
}

export interface LikenessInput {
  text: string;
  language: string;
  /** Embedding cosine with the selection. */
  cosine: number;
  lines: number;
}

/** How alike two fragments are, by both detectors, and one score in 0..1 that ranks pairs by it. */
export interface Comparison {
  /** The longest textual clone between them, if the textual detector finds one. */
  textual?: Likeness;
  cosine: number;
  /**
   * The pair's likeness: the textual clone's share of identical tokens times the share of the
   * shorter fragment it covers, or the cosine, whichever is higher (the clone benchmarks rank
   * pairs by it; Find Similar and the groups apply the detectors' thresholds to the same parts).
   */
  score: number;
}

/** Compares a hit with the selection by the near-duplicate detectors' own rules. */
export function compareFragments(selection: { text: string; language: string }, hit: LikenessInput, options: DupeOptions): Comparison {
  const index = new TextualIndex({ minLines: options.minLines, minTokens: options.minTokens });
  const a = tokenize(selection.text, selection.language);
  const b = tokenize(hit.text, hit.language);
  index.add('selection', a);
  index.add('hit', b);
  index.findPairs(['selection']);
  let textual: Likeness | undefined;
  let covered = 0;
  for (const pair of index.pairsOf('selection')) {
    const side = pair.a.path === 'hit' ? pair.a : pair.b.path === 'hit' ? pair.b : undefined;
    if (!side) continue;
    const lines = side.endLine - side.startLine + 1;
    if (!textual || lines > textual.lines || (lines === textual.lines && pair.similarity > textual.similarity)) {
      textual = { kind: 'textual', similarity: pair.similarity, lines };
      covered = (side.endToken - side.startToken) / Math.max(1, Math.min(a.norm.length, b.norm.length));
    }
  }
  const score = Math.max(hit.cosine, textual ? textual.similarity * Math.min(1, covered) : 0);
  return { ...(textual ? { textual } : {}), cosine: hit.cosine, score };
}

/**
 * Judges a hit against the selection: a textual clone (same normalized tokens over at least
 * `minLines` lines and `minTokens` tokens, 65% identical) first, as the groups do, else a semantic
 * near-duplicate (cosine at the model's threshold). Undefined when it is merely similar.
 */
export function likenessOf(selection: { text: string; language: string }, hit: LikenessInput, options: DupeOptions): Likeness | undefined {
  const { textual } = compareFragments(selection, hit, options);
  if (textual) return textual;
  return hit.cosine >= options.threshold ? { kind: 'semantic', similarity: hit.cosine, lines: hit.lines } : undefined;
}
