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
  /**
   * The text that is embedded: the chunk's own lines, prefixed by the enclosing signature when a
   * large definition was split. Never contains the path, so a renamed file re-uses its vectors.
   */
  text: string;
  /** sha256 (hex) of `text`: the key under which the vector is stored and re-used. */
  hash: string;
}

export type ChunkKind = 'code' | 'doc';

/** Counts tokens with the model's own tokenizer, so chunks never exceed the model window. */
export interface TokenCounter {
  count(text: string): number;
}

/** The model's tokenizer as the parsing side uses it: counts, and model inputs when it can make them fast. */
export interface ModelTokenizer extends TokenCounter {
  /** A document's model input ids (prefix, specials, cut to the window); absent for slow tokenizers. */
  encodeDocument?(text: string): Int32Array;
}
