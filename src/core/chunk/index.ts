import { roleOf } from '../scan/fileRole';
import type { Chunk, TokenCounter } from '../types';
import { chunkTree } from './codeChunker';
import { chunkMarkdown, chunkProse } from './docChunker';
import { isParsed, kindOf, languageOf } from './languages';
import { PieceSet, type Piece } from './pieces';
import { TreeSitter } from './treeSitter';

export { languageOf } from './languages';

/**
 * Bump when chunk boundaries, texts or the roles stored with them change: the index is then
 * rebuilt, never mixed. (8: files generated from an API description are `generated`.)
 */
export const CHUNKER_VERSION = 8;

export interface ChunkOptions {
  maxTokens: number;
  tokens: TokenCounter;
  /** Neighbours smaller than this are merged when they fit together. Default: maxTokens / 8. */
  minTokens?: number;
}

// A line that only brings in names: import/require/include/use/package statements and their continuations.
const IMPORT_LINE = /^\s*(?:import\b|from\s+\S+\s+import\b|export\s+(?:\*|\{[^}]*\})\s+from\b|(?:const|let|var)\s+[\w${}\s,:]+=\s*require\(|require(?:_once)?\b|#\s*include\b|using\s+[\w.]+;|use\s+[\w:\\{}, ]+;|package\s+[\w.]+;?\s*$|extern\s+crate\b|mod\s+\w+;|[\w\s,.*]*[)},]\s*;?\s*$|['"][^'"]+['"],?\s*$)/;
const COMMENT_LINE = /^\s*(?:#(?!include)|\/\/|\/\*|\*|\*\/|--|;;|"""|''')/;
/** Fewer words of code than this (comments and imports aside) is no answer to anything. */
const MINOR_WORDS = 4;

/**
 * Chunks with nothing to find by meaning: only imports, comments and blank lines (a file's
 * header, a licence), or under MINOR_WORDS words of code. Their words still count for keyword
 * search; by meaning they rank after chunks of substance (a list of imported names reads like
 * the topic of half the questions about a project).
 */
export function isMinor(lines: readonly string[]): boolean {
  return fewWords(0, lines.length - 1, (row) => codeWords(lines[row]!));
}

/** Whether rows `from`..`to` hold fewer than MINOR_WORDS words of code, `words(row)` giving each row's. */
function fewWords(from: number, to: number, words: (row: number) => number): boolean {
  let n = 0;
  for (let row = from; row <= to; row++) if ((n += words(row)) >= MINOR_WORDS) return false;
  return true;
}

const NOT_BLANK = /\S/;
const WORD = /[A-Za-z_$][\w$]*/g;

/** Words of code on one line, counted up to MINOR_WORDS only: comments, imports and blank lines have none. */
function codeWords(line: string): number {
  if (!NOT_BLANK.test(line) || COMMENT_LINE.test(line) || IMPORT_LINE.test(line)) return 0;
  WORD.lastIndex = 0;
  let n = 0;
  while (n < MINOR_WORDS && WORD.test(line)) n++;
  return n;
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
    // Each line judged once: a long line cut into a thousand slices was read a thousand times.
    const judged = new Int8Array(lines.length).fill(-1);
    const words = (row: number) => (judged[row]! >= 0 ? judged[row]! : (judged[row] = codeWords(lines[row]!)));
    for (const c of chunks) {
      if (role !== 'source') c.role = role;
      if (c.kind === 'code' && fewWords(c.startLine - 1, c.endLine - 1, words)) c.minor = true;
    }
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
