import type { FileRole } from './scan/fileRole';

/** One piece of a file that is embedded and searched as a unit. Lines are 1-based and inclusive. */
export interface Chunk {
  /** Path relative to the index root, always with `/` separators. */
  path: string;
  startLine: number;
  endLine: number;
  /** Language id (`typescript`, `python`, `markdown`, `text`, ...). */
  language: string;
  kind: ChunkKind;
  /** Name of the function/class/heading the chunk belongs to, when known. */
  symbol?: string;
  /** What the chunk's file is for, when not plain source (see `roleOf`). */
  role?: FileRole;
  /** Nothing of substance: imports, a licence header, a line or two (see `isMinor`); ranked down by meaning. */
  minor?: boolean;
  /**
   * The text that is embedded: the chunk's own lines, prefixed by the enclosing signature when a
   * large definition was split. Never contains the path, so a renamed file re-uses its vectors.
   */
  text: string;
  /** sha256 (hex) of `text`: the key under which the vector is stored and re-used. */
  hash: string;
  /** The model input for `text` (see `TokenCounter.lineIds`), when it could be assembled from the lines. */
  tokenIds?: Int32Array;
}

export type ChunkKind = 'code' | 'doc';

/** Counts tokens with the model's own tokenizer, so chunks never exceed the model window. */
export interface TokenCounter {
  count(text: string): number;
  /**
   * Set for tokenizers that split at whitespace before anything else (BERT WordPiece): the ids of
   * every line, without special tokens, in one array (line r's from `starts[r]` to `starts[r + 1]`).
   * A text's tokens are then exactly its lines' tokens plus the specials, so a chunk's size adds up
   * from its lines and its model input is assembled from them: each line is tokenized once,
   * however many candidate chunks it is part of.
   */
  lineIds?(lines: readonly string[]): LineIds;
  /** With `lineIds`: the model input around the ids of a text's parts (prefix and specials, cut to the window). */
  modelInput?(parts: readonly Int32Array[]): Int32Array;
  /**
   * With `lineIds`: the ends of consecutive parts of one line, each within `budget` tokens (no
   * specials) and as long as it can be, whose tokens are the line's: how an overlong line is cut.
   */
  cutLine?(line: string, budget: number): number[];
}

export interface LineIds {
  ids: Int32Array;
  starts: Int32Array;
}
