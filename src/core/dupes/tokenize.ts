/**
 * A small lexer shared by every language Nearby indexes: good enough to tell identifiers, literals,
 * keywords and punctuation apart, which is all clone detection needs. Comments and whitespace are
 * dropped, so reformatting or re-commenting a copy does not hide it.
 */

import { hashString } from '../charTable';
import { grown } from '../typedArrays';

/** One file as clone detection sees it: parallel arrays, one entry per token. */
export interface TokenizedFile {
  /** Token ids with identifiers, strings and numbers collapsed to one id each (renames match). */
  norm: Int32Array;
  /** Token ids of the exact text (to tell an exact copy from a renamed one). */
  raw: Int32Array;
  /** 1-based line of each token. */
  line: Int32Array;
  lineCount: number;
  /** Lines that are import / include / require statements. */
  importLines: Uint8Array;
}

export const NORM_IDENTIFIER = hashString('\u0001identifier');
export const NORM_STRING = hashString('\u0001string');
export const NORM_NUMBER = hashString('\u0001number');

const KEYWORDS = new Set(
  (
    'abstract and as assert async await bool boolean break byte case catch chan char class const continue def default defer del delete do ' +
    'double elif else enum except export extends extern false final finally float fn for foreach from func function go goto if impl ' +
    'implements import in instanceof int interface is lambda let long loop match mod module mut namespace new nil None not null of or ' +
    'override package pass private protected pub public raise readonly return self Self short signed sizeof static struct super switch ' +
    'template this throw throws trait True true False try type typedef typeof undefined union unless unsigned use using var virtual void ' +
    'volatile where while with yield include require'
  ).split(' '),
);

/** Normalized ids of the keywords, to tell words from punctuation. */
export const KEYWORD_IDS: ReadonlySet<number> = new Set([...KEYWORDS].map(hashString));

/**
 * Words that make code do something. A chunk with none of them declares (a table of settings,
 * an interface, a list of fields): two such look alike by meaning whenever their shapes agree,
 * which is what a code generator or a schema produces, not a copy to factor out.
 */
const STATEMENT_WORDS = new Set(['if', 'else', 'unless', 'for', 'while', 'until', 'do', 'loop', 'switch', 'case', 'when', 'select', 'return', 'throw', 'raise', 'try', 'catch', 'rescue', 'with', 'yield', 'await', 'defer', 'break', 'continue'].map(hashString));

/** Whether tokens [start, end) hold a statement word (see STATEMENT_WORDS). */
export function hasStatement(tokens: TokenizedFile, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (STATEMENT_WORDS.has(tokens.norm[i]!)) return true;
  return false;
}

const HASH_COMMENT = new Set(['python', 'ruby', 'shellscript', 'yaml', 'toml', 'r', 'perl', 'makefile', 'dockerfile', 'elixir', 'graphql']);
const SLASH_REGEX = new Set(['javascript', 'typescript', 'tsx']);
const IMPORT_HEADS = new Set(['import', 'from', 'require', 'using', 'package', 'use', 'include', 'extern']);

/** Longest operators first, so `===` is one token rather than `==` then `=`. */
const OPERATORS = [
  '>>>=', '...', '===', '!==', '**=', '<<=', '>>=', '>>>', '&&=', '||=', '??=', '<=>',
  '=>', '==', '!=', '<=', '>=', '&&', '||', '??', '?.', '++', '--', '+=', '-=', '*=', '/=', '%=', '&=', '|=', '^=', '**', '::', '->', '<<', '>>', ':=',
];

/**
 * After one of these, a `/` in JavaScript starts a regular expression, not a division.
 * Keywords that end an expression (`this`, `super`) are deliberately absent.
 */
const BEFORE_REGEX = new Set(['(', ',', '=', ':', '[', '!', '&', '|', '?', '{', '}', ';', '+', '-', '*', '%', '<', '>', '~', '^', '=>', '==', '===', '!=', '!==', '&&', '||', '??', 'return', 'typeof', 'case', 'in', 'of', 'delete', 'void', 'throw', 'new', 'yield', 'await']);

export function tokenize(text: string, language: string): TokenizedFile {
  // Typed buffers grown by doubling: a file of 10^5 tokens would otherwise make 3 x 10^5 boxed numbers.
  let capacity = Math.max(64, text.length >> 2);
  let norm = new Int32Array(capacity);
  let raw = new Int32Array(capacity);
  let lines = new Int32Array(capacity);
  let count = 0;
  const hashComments = HASH_COMMENT.has(language) || language === 'php';
  const slashComments = !HASH_COMMENT.has(language);
  const regexLiterals = SLASH_REGEX.has(language);
  const tripleQuotes = language === 'python';
  let line = 1;
  let lineFirstToken = '';
  const importLines: number[] = [];
  let previous = '';
  // The import or export statement being read: its lines are flagged once it turns out to import
  // something (`import`, or `export ... from`), however many lines its name list takes.
  let statement: { start: number; depth: number; imports: boolean } | undefined;
  const closeStatement = (end: number) => {
    if (statement?.imports) for (let l = statement.start; l <= end; l++) importLines.push(l);
    statement = undefined;
  };

  const push = (normId: number, rawText: string) => {
    if (count === 0 || lines[count - 1] !== line) {
      if (statement && statement.depth <= 0) closeStatement(lines[count - 1]!);
      lineFirstToken = rawText;
      if (!statement && (IMPORT_HEADS.has(rawText) || rawText === '#include' || rawText === 'export')) {
        statement = { start: line, depth: 0, imports: rawText !== 'export' };
      }
    } else if (rawText === 'require' && (lineFirstToken === 'const' || lineFirstToken === 'var' || lineFirstToken === 'let')) {
      importLines.push(line);
    }
    if (statement) {
      if (rawText === '{' || rawText === '(' || rawText === '[') statement.depth++;
      else if (rawText === '}' || rawText === ')' || rawText === ']') statement.depth--;
      else if (rawText === 'from') statement.imports = true;
      else if (rawText === ';' && statement.depth <= 0) closeStatement(line);
    }
    if (count === capacity) {
      capacity *= 2;
      norm = grown(norm, capacity);
      raw = grown(raw, capacity);
      lines = grown(lines, capacity);
    }
    norm[count] = normId;
    raw[count] = hashString(rawText);
    lines[count] = line;
    count++;
    previous = rawText;
  };

  const n = text.length;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 10) {
      line++;
      i++;
      continue;
    }
    if (c === 32 || c === 9 || c === 13 || c === 12 || c === 11) {
      i++;
      continue;
    }
    const next = i + 1 < n ? text.charCodeAt(i + 1) : 0;
    // Comments.
    if (slashComments && c === 47 /* / */ && next === 47) {
      i = skipToLineEnd(text, i);
      continue;
    }
    if (slashComments && c === 47 && next === 42 /* * */) {
      const end = text.indexOf('*/', i + 2);
      const stop = end < 0 ? n : end + 2;
      line += countNewlines(text, i, stop);
      i = stop;
      continue;
    }
    if (hashComments && c === 35 /* # */ && !(language === 'php' && next === 91 /* [ attribute */)) {
      i = skipToLineEnd(text, i);
      continue;
    }
    // Strings.
    if (tripleQuotes && (c === 34 || c === 39) && next === c && text.charCodeAt(i + 2) === c) {
      const quote = text.slice(i, i + 3);
      const end = text.indexOf(quote, i + 3);
      const stop = end < 0 ? n : end + 3;
      const startLine = line;
      line += countNewlines(text, i, stop);
      pushAt(startLine, text.slice(i, stop));
      i = stop;
      continue;
    }
    if (c === 96 /* ` */) {
      const stop = scanQuoted(text, i, 96, true);
      const startLine = line;
      line += countNewlines(text, i, stop);
      pushAt(startLine, text.slice(i, stop));
      i = stop;
      continue;
    }
    if (c === 34 || c === 39) {
      const stop = scanQuoted(text, i, c, false);
      if (stop > 0) {
        push(NORM_STRING, text.slice(i, stop));
        i = stop;
        continue;
      }
      // An unterminated quote on its line is an apostrophe (Rust lifetimes, prose): punctuation.
      push(hashString(text[i]!), text[i]!);
      i++;
      continue;
    }
    // Numbers.
    if (isDigit(c) || (c === 46 && isDigit(next))) {
      let j = i + 1;
      while (j < n && (isWordChar(text.charCodeAt(j)) || (text.charCodeAt(j) === 46 && isDigit(text.charCodeAt(j + 1))))) j++;
      push(NORM_NUMBER, text.slice(i, j));
      i = j;
      continue;
    }
    // Identifiers and keywords; `$x` (PHP, JS) and `#x` (JS private names) are identifiers too.
    if (isWordStart(c) || ((c === 36 || (c === 35 && !hashComments)) && isWordStart(next))) {
      let j = i + 1;
      while (j < n && isWordChar(text.charCodeAt(j))) j++;
      const word = text.slice(i, j);
      push(KEYWORDS.has(word) ? hashString(word) : NORM_IDENTIFIER, word);
      i = j;
      continue;
    }
    if (regexLiterals && c === 47 && (previous === '' || BEFORE_REGEX.has(previous))) {
      const stop = scanRegex(text, i);
      if (stop > 0) {
        push(NORM_STRING, text.slice(i, stop));
        i = stop;
        continue;
      }
    }
    const op = operatorAt(text, i);
    push(hashString(op), op);
    i += op.length;
  }

  function pushAt(startLine: number, literal: string): void {
    const current = line;
    line = startLine;
    push(NORM_STRING, literal);
    line = current;
  }

  if (statement && count > 0) closeStatement(lines[count - 1]!);
  const importFlags = new Uint8Array(line + 1);
  for (const l of importLines) importFlags[l] = 1;
  return { norm: norm.slice(0, count), raw: raw.slice(0, count), line: lines.slice(0, count), lineCount: line, importLines: importFlags };
}

function operatorAt(text: string, i: number): string {
  for (const op of OPERATORS) if (text.startsWith(op, i)) return op;
  return text[i]!;
}

function skipToLineEnd(text: string, i: number): number {
  const end = text.indexOf('\n', i);
  return end < 0 ? text.length : end;
}

function countNewlines(text: string, from: number, to: number): number {
  let count = 0;
  for (let i = text.indexOf('\n', from); i >= 0 && i < to; i = text.indexOf('\n', i + 1)) count++;
  return count;
}

/** End (exclusive) of the quoted literal starting at `i`, or -1 when it does not close on its line. */
function scanQuoted(text: string, i: number, quote: number, multiline: boolean): number {
  for (let j = i + 1; j < text.length; j++) {
    const c = text.charCodeAt(j);
    if (c === 92 /* \ */) j++;
    else if (c === quote) return j + 1;
    else if (c === 10 && !multiline) return -1;
  }
  return multiline ? text.length : -1;
}

function scanRegex(text: string, i: number): number {
  let inClass = false;
  for (let j = i + 1; j < text.length; j++) {
    const c = text.charCodeAt(j);
    if (c === 10) return -1;
    if (c === 92) j++;
    else if (c === 91 /* [ */) inClass = true;
    else if (c === 93 /* ] */) inClass = false;
    else if (c === 47 && !inClass) {
      let k = j + 1;
      while (k < text.length && isWordChar(text.charCodeAt(k))) k++;
      return k;
    }
  }
  return -1;
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

function isWordStart(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c > 127;
}

function isWordChar(c: number): boolean {
  return isWordStart(c) || isDigit(c) || c === 36;
}
