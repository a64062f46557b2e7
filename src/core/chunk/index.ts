import { roleOf } from '../scan/fileRole';
import type { Chunk, TokenCounter } from '../types';
import { chunkTree } from './codeChunker';
import { chunkMarkdown, chunkProse } from './docChunker';
import { isParsed, kindOf, languageOf } from './languages';
import { PieceSet, type Piece } from './pieces';
import { TreeSitter } from './treeSitter';

export { languageOf } from './languages';

/** Bump when chunk boundaries or texts change: the index is then rebuilt, never mixed. */
export const CHUNKER_VERSION = 6;

export interface ChunkOptions {
  maxTokens: number;
  tokens: TokenCounter;
  /** Neighbours smaller than this are merged when they fit together. Default: maxTokens / 8. */
  minTokens?: number;
}

/** Fallback windows for text with no structure we know: 40 lines, 5 shared with the next. */
const WINDOW_LINES = 40;
const WINDOW_OVERLAP = 5;

/**
 * Cuts files into chunks: tree-sitter definitions for code, sections for Markdown, paragraphs
 * for prose, overlapping line windows for anything else. One instance holds the parsers.
 */
export class Chunker {
  private constructor(private readonly treeSitter: TreeSitter) {}

  static async create(): Promise<Chunker> {
    return new Chunker(await TreeSitter.load());
  }

  async chunkFile(path: string, text: string, options: ChunkOptions): Promise<Chunk[]> {
    const language = languageOf(path);
    const lines = text.split(/\r?\n/);
    const set = new PieceSet(lines, { maxTokens: options.maxTokens, minTokens: options.minTokens ?? Math.floor(options.maxTokens / 8), tokens: options.tokens });
    const pieces = await this.pieces(language, text, set);
    const chunks = set.toChunks(pieces, { path, language, kind: kindOf(language) });
    const role = roleOf(path, text);
    if (role !== 'source') for (const c of chunks) c.role = role;
    return chunks;
  }

  private async pieces(language: string, text: string, set: PieceSet): Promise<Piece[]> {
    const whole: Piece = { start: 0, end: set.lines.length - 1, header: [] };
    if (language === 'markdown') return chunkMarkdown(set);
    if (kindOf(language) === 'doc') return chunkProse(set);
    if (!isParsed(language)) return set.windows(whole, WINDOW_OVERLAP, WINDOW_LINES);
    // A grammar that fails to load or parse must not cost the file its place in the index.
    const parser = await this.treeSitter.parser(language).catch(() => undefined);
    const tree = parser?.parse(text);
    if (!tree) return set.windows(whole, WINDOW_OVERLAP, WINDOW_LINES);
    try {
      return chunkTree(tree.rootNode, language, set);
    } finally {
      tree.delete();
    }
  }

  dispose(): void {
    void this.treeSitter.dispose();
  }
}
