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

/**
 * Judges a hit against the selection with the near-duplicate detectors' own rules: a textual
 * clone (same normalized tokens over at least `minLines` lines and `minTokens` tokens, 65%
 * identical) first, as the groups do, else a semantic near-duplicate (cosine at the model's
 * threshold). Undefined when it is merely similar.
 */
export function likenessOf(selection: { text: string; language: string }, hit: LikenessInput, options: DupeOptions): Likeness | undefined {
  const index = new TextualIndex({ minLines: options.minLines, minTokens: options.minTokens });
  index.add('selection', tokenize(selection.text, selection.language));
  index.add('hit', tokenize(hit.text, hit.language));
  index.findPairs(['selection']);
  let best: Likeness | undefined;
  for (const pair of index.pairsOf('selection')) {
    const side = pair.a.path === 'hit' ? pair.a : pair.b.path === 'hit' ? pair.b : undefined;
    if (!side) continue;
    const lines = side.endLine - side.startLine + 1;
    if (!best || lines > best.lines || (lines === best.lines && pair.similarity > best.similarity)) best = { kind: 'textual', similarity: pair.similarity, lines };
  }
  if (best) return best;
  return hit.cosine >= options.threshold ? { kind: 'semantic', similarity: hit.cosine, lines: hit.lines } : undefined;
}
