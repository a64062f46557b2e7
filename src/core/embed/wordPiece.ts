import { readFileSync } from 'node:fs';
import { CharTable, HASH_START, hashChar } from '../charTable';
import { grown } from '../typedArrays';

/**
 * BERT WordPiece tokenization (normalizer, pre-tokenizer and model as `tokenizer.json` describes
 * them), written for speed: the indexer counts tokens of every candidate chunk and tokenizes every
 * chunk it embeds, and the general-purpose tokenizer of transformers.js spends most of its time on
 * machinery this one tokenizer does not need. It yields the same ids as transformers.js (tested
 * on real code); `load` returns undefined for any other tokenizer, which then stays in charge.
 */
export class WordPieceTokenizer {
  private readonly cache = new Map<string, readonly number[]>();
  /** Words seen (in lower case), found by their characters in any case. */
  private readonly words = new CharTable<readonly number[]>(true);
  private readonly trie: PieceTrie;
  /** Ids of each ASCII punctuation character, by character code. */
  private readonly punctuation: (readonly number[])[] = [];
  /** The first characters of the special tokens: most texts hold none, and skip the pattern. */
  private readonly specialStarts: string[];
  /** Where a scan puts its ids (reused: one tokenizer serves one thread). */
  private ids = new Int32Array(4096);
  private length = 0;
  /** Where a scan for `cut` may cut, and how many ids come before each place. */
  private markAt = new Int32Array(256);
  private markIds = new Int32Array(256);
  private marks = 0;

  private constructor(
    private readonly vocab: Map<string, number>,
    private readonly special: Map<string, number>,
    private readonly specialPattern: RegExp | undefined,
    private readonly cls: number,
    private readonly sep: number,
    private readonly unk: number,
    private readonly maxCharsPerWord: number,
    /** The longest piece in the vocabulary, in characters: no longer candidate can match. */
    private readonly maxPieceChars: number,
  ) {
    this.trie = new PieceTrie(vocab);
    for (let c = 0x21; c <= 0x7e; c++) if (!isWordCode(c)) this.punctuation[c] = this.word(String.fromCharCode(c));
    this.specialStarts = [...new Set([...special.keys()].map((t) => t[0]!))];
  }

  /** Forgets the words it has met (a working set that after a large run weighs about 20 MB). */
  forgetWords(): void {
    this.cache.clear();
    this.words.clear();
  }

  static load(tokenizerJson: string): WordPieceTokenizer | undefined {
    let config: TokenizerJson;
    try {
      config = JSON.parse(readFileSync(tokenizerJson, 'utf8')) as TokenizerJson;
    } catch {
      return undefined;
    }
    const { normalizer: n, pre_tokenizer: pre, model, post_processor: post } = config;
    const standard =
      n?.type === 'BertNormalizer' && n.clean_text && n.handle_chinese_chars && n.lowercase && n.strip_accents !== false &&
      pre?.type === 'BertPreTokenizer' && model?.type === 'WordPiece' && model.continuing_subword_prefix === '##' &&
      (post?.type === 'TemplateProcessing' || post?.type === 'BertProcessing');
    if (!standard || !model.vocab) return undefined;
    const vocab = new Map(Object.entries(model.vocab));
    const id = (t: string) => vocab.get(t);
    const cls = id('[CLS]');
    const sep = id('[SEP]');
    const unk = id(model.unk_token ?? '[UNK]');
    if (cls === undefined || sep === undefined || unk === undefined) return undefined;
    const special = new Map((config.added_tokens ?? []).filter((t) => t.special).map((t) => [t.content, t.id]));
    const specialPattern = special.size ? new RegExp(`(${[...special.keys()].map(escapeRegExp).join('|')})`) : undefined;
    let maxPieceChars = 1;
    for (const t of vocab.keys()) maxPieceChars = Math.max(maxPieceChars, [...(t.startsWith('##') ? t.slice(2) : t)].length);
    return new WordPieceTokenizer(vocab, special, specialPattern, cls, sep, unk, model.max_input_chars_per_word ?? 100, maxPieceChars);
  }

  /** Token ids with [CLS] and [SEP], cut to `maxLength` (keeping [SEP]) when given. */
  encode(text: string, maxLength = Number.MAX_SAFE_INTEGER): Int32Array {
    this.length = 0;
    this.scan(text, false);
    return this.wrap([this.ids.subarray(0, this.length)], maxLength);
  }

  /** The ids of `text` without [CLS] and [SEP]. */
  pieces(text: string): Int32Array {
    this.length = 0;
    this.scan(text, false);
    return this.ids.slice(0, this.length);
  }

  /** `encode(text).length`, without building the ids: the chunker asks this of many texts. */
  count(text: string): number {
    return this.tokensOf(text) + 2;
  }

  /** [CLS], the ids of each part in turn, [SEP]: cut to `maxLength` (keeping [SEP]). */
  wrap(parts: readonly ArrayLike<number>[], maxLength = Number.MAX_SAFE_INTEGER): Int32Array {
    let total = 0;
    for (const p of parts) total += p.length;
    const n = Math.max(0, Math.min(total, maxLength - 2));
    const out = new Int32Array(n + 2);
    out[0] = this.cls;
    let at = 1;
    for (const p of parts) {
      const take = Math.min(p.length, n + 1 - at);
      if (ArrayBuffer.isView(p)) out.set((p as Int32Array).subarray(0, take), at);
      else for (let i = 0; i < take; i++) out[at + i] = p[i]!;
      at += take;
    }
    out[n + 1] = this.sep;
    return out;
  }

  /**
   * The ids of every line (without [CLS] and [SEP]) in one array: line r's are
   * `ids[starts[r]] .. ids[starts[r + 1] - 1]`. One array per file, not one per line.
   */
  lineIds(lines: readonly string[]): { ids: Int32Array; starts: Int32Array } {
    this.length = 0;
    const starts = new Int32Array(lines.length + 1);
    for (let r = 0; r < lines.length; r++) {
      starts[r] = this.length;
      this.scan(lines[r]!, false);
    }
    starts[lines.length] = this.length;
    return { ids: this.ids.slice(0, this.length), starts };
  }

  /**
   * Where to cut `text` into parts of at most `budget` tokens each (without [CLS] and [SEP]), each
   * as long as it can be: the end offset of every part, the last one `text.length`. Parts end
   * before a word, a punctuation mark or a stretch holding non-ASCII, where tokenizing apart
   * changes nothing, so each part's tokens are exactly its share of the text's. Only a word
   * longer than the budget is cut inside, by characters.
   */
  cut(text: string, budget: number): number[] {
    this.length = 0;
    this.marks = 0;
    this.scan(text, true);
    this.mark(text.length);
    // Copied out, so that counting inside an overlong word below cannot disturb them.
    const at = this.markAt.slice(0, this.marks);
    const before = this.markIds.slice(0, this.marks);
    const ends: number[] = [];
    let from = 0;
    let next = 0; // the first mark after `from`
    while (next < at.length && at[next]! <= from) next++;
    // Tokens from `from` to mark k are before[k] - base: exact when `from` is a mark (or the
    // blank before one); inside a word, the word's remainder is counted on its own.
    let base = 0;
    while (from < text.length) {
      let k = next - 1;
      while (k + 1 < at.length && before[k + 1]! - base <= budget) k++;
      if (k >= next) {
        from = at[k]!;
        base = before[k]!;
        next = k + 1;
      } else {
        from = this.longestPrefix(text, from, at[next]!, budget);
        if (from < at[next]!) base = before[next]! - this.tokensOf(text.slice(from, at[next]!));
        else base = before[next++]!;
      }
      ends.push(from);
    }
    return ends;
  }

  /** The end of the longest stretch of `text` from `from` (before `to`) within `budget` tokens; at least one character. */
  private longestPrefix(text: string, from: number, to: number, budget: number): number {
    let lo = from + 1;
    let hi = to;
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      if (this.tokensOf(text.slice(from, mid)) <= budget) lo = mid;
      else hi = mid - 1;
    }
    // Never between the halves of a surrogate pair.
    return lo < to && isHighSurrogate(text.charCodeAt(lo - 1)) ? lo + 1 : lo;
  }

  private tokensOf(text: string): number {
    this.length = 0;
    this.scan(text, false);
    return this.length;
  }

  /** Appends the ids of `text` to `ids`; with `marks`, records where it may be cut (see `cut`). */
  private scan(text: string, marks: boolean): void {
    if (!this.specialPattern || !this.specialStarts.some((c) => text.includes(c)) || !this.specialPattern.test(text)) {
      this.scanPlain(text, 0, marks);
      return;
    }
    let offset = 0;
    text.split(this.specialPattern).forEach((part, i) => {
      // split() with a capture group puts the special tokens at odd positions.
      if (i % 2 === 1) {
        if (marks) this.mark(offset);
        this.push([this.special.get(part)!]);
      } else if (part) this.scanPlain(part, offset, marks);
      offset += part.length;
    });
  }

  /**
   * One pass over the characters for printable ASCII, most of any code base: case is folded as
   * words are hashed, and a word met before is found in a table by its characters, so no string is
   * built for it. A whitespace-delimited stretch holding anything else (an accented word, an emoji,
   * a control character) takes the general path as a whole: what the fast path emitted for its
   * start is taken back, so it is tokenized exactly as it would be in place.
   */
  private scanPlain(text: string, offset: number, marks: boolean): void {
    const n = text.length;
    let stretch = 0;
    let stretchLength = this.length;
    let stretchMarks = this.marks;
    let i = 0;
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 0x20 || c === 0x0a || c === 0x09 || c === 0x0d) {
        stretch = ++i;
        stretchLength = this.length;
        stretchMarks = this.marks;
        continue;
      }
      if (c < 0x20 || c > 0x7e) {
        this.length = stretchLength;
        this.marks = stretchMarks;
        let end = i + 1;
        while (end < n && !isAsciiSpace(text.charCodeAt(end))) end++;
        if (marks) this.mark(offset + stretch);
        for (const word of preTokenize(normalize(text.slice(stretch, end)))) this.push(this.word(word));
        i = stretch = end;
        stretchLength = this.length;
        stretchMarks = this.marks;
        continue;
      }
      if (marks) this.mark(offset + i);
      if (!isWordCode(c)) {
        this.push(this.punctuation[c]!);
        i++;
        continue;
      }
      const start = i;
      let h = HASH_START;
      for (; i < n; i++) {
        let d = text.charCodeAt(i);
        if (d >= 0x41 && d <= 0x5a) d |= 0x20;
        else if (!((d >= 0x61 && d <= 0x7a) || (d >= 0x30 && d <= 0x39))) break;
        h = hashChar(h, d);
      }
      let ids = this.words.find(text, start, i, h);
      if (!ids) {
        ids = this.asciiWord(text, start, i);
        this.words.insert(text.slice(start, i).toLowerCase(), h, ids);
      }
      this.push(ids);
    }
  }

  private push(ids: readonly number[]): void {
    if (this.length + ids.length > this.ids.length) this.ids = grown(this.ids, Math.max(2 * this.ids.length, this.length + ids.length));
    for (let j = 0; j < ids.length; j++) this.ids[this.length++] = ids[j]!;
  }

  private mark(at: number): void {
    if (this.marks === this.markAt.length) {
      this.markAt = grown(this.markAt, 2 * this.marks);
      this.markIds = grown(this.markIds, 2 * this.marks);
    }
    this.markAt[this.marks] = at;
    this.markIds[this.marks++] = this.length;
  }

  /**
   * `word` for letters and digits, read from `text` (any case): each piece is the deepest token
   * on one walk down the trie, so no substring is built or looked up. A code base holds hundreds
   * of thousands of distinct words; building and hashing every candidate piece of each was most
   * of the tokenizer's time.
   */
  private asciiWord(text: string, start: number, end: number): readonly number[] {
    if (end - start > this.maxCharsPerWord) return [this.unk];
    const out: number[] = [];
    let from = start;
    while (from < end) {
      let node = from === start ? PieceTrie.WORD_START : PieceTrie.CONTINUATION;
      let id = -1;
      let to = from;
      for (let i = from; i < end; i++) {
        const c = text.charCodeAt(i);
        node = this.trie.child(node, c >= 0x41 && c <= 0x5a ? c | 0x20 : c);
        if (node < 0) break;
        const t = this.trie.token(node);
        if (t >= 0) {
          id = t;
          to = i + 1;
        }
      }
      if (id < 0) return [this.unk];
      out.push(id);
      from = to;
    }
    return out;
  }

  /** Greedy longest-match-first subwords of one word; memoised, since code repeats its words. */
  private word(word: string): readonly number[] {
    const hit = this.cache.get(word);
    if (hit) return hit;
    // Pieces are cut at code points; for ASCII those are the string's own indices.
    const chars = isAscii(word) ? undefined : [...word];
    const length = chars ? chars.length : word.length;
    const slice = chars ? (a: number, b: number) => chars.slice(a, b).join('') : (a: number, b: number) => word.slice(a, b);
    let out: number[];
    if (length > this.maxCharsPerWord) out = [this.unk];
    else {
      out = [];
      let start = 0;
      while (start < length) {
        let end = Math.min(length, start + this.maxPieceChars);
        let found: number | undefined;
        while (start < end) {
          const piece = slice(start, end);
          found = this.vocab.get(start > 0 ? `##${piece}` : piece);
          if (found !== undefined) break;
          end--;
        }
        if (found === undefined) {
          out = [this.unk];
          break;
        }
        out.push(found);
        start = end;
      }
    }
    if (this.cache.size > 100_000) this.cache.clear();
    this.cache.set(word, out);
    return out;
  }
}

interface TokenizerJson {
  normalizer?: { type: string; clean_text?: boolean; handle_chinese_chars?: boolean; lowercase?: boolean; strip_accents?: boolean | null };
  pre_tokenizer?: { type: string };
  model?: { type: string; vocab?: Record<string, number>; unk_token?: string; continuing_subword_prefix?: string; max_input_chars_per_word?: number };
  post_processor?: { type: string };
  added_tokens?: { id: number; content: string; special: boolean }[];
}

const CONTROL = /[\p{Cc}\p{Cf}\p{Co}\p{Cs}]/u;
const PUNCTUATION = '\\p{P}\\u0021-\\u002F\\u003A-\\u0040\\u005B-\\u0060\\u007B-\\u007E';
const WORDS = new RegExp(`[^\\s${PUNCTUATION}]+|[${PUNCTUATION}]`, 'gu');
const ASCII_PUNCTUATION = '\\u0021-\\u002F\\u003A-\\u0040\\u005B-\\u0060\\u007B-\\u007E';
const ASCII_WORDS = new RegExp(`[^\\s${ASCII_PUNCTUATION}]+|[${ASCII_PUNCTUATION}]`, 'g');
const ASCII_SPACE = /[\t\n\r]/g;
// eslint-disable-next-line no-control-regex
const ASCII_CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g;

function isChinese(cp: number): boolean {
  return (cp >= 0x4e00 && cp <= 0x9fff) || (cp >= 0x3400 && cp <= 0x4dbf) || (cp >= 0xf900 && cp <= 0xfaff);
}

/**
 * BertNormalizer: drop control characters, spaces for whitespace and around CJK, lower case, no
 * accents. Plain ASCII, most of any code base, takes two native replaces instead of a regular
 * expression per character (that loop was a third of all parsing time).
 */
function normalize(text: string): string {
  if (isAscii(text)) return text.replace(ASCII_SPACE, ' ').replace(ASCII_CONTROL, '').toLowerCase();
  let out = '';
  for (const ch of text) {
    const cp = ch.charCodeAt(0);
    if (cp === 0 || cp === 0xfffd || (ch !== '\t' && ch !== '\n' && ch !== '\r' && CONTROL.test(ch))) continue;
    if (/^\s$/.test(ch)) out += ' ';
    else if (isChinese(cp)) out += ` ${ch} `;
    else out += ch;
  }
  out = out.toLowerCase();
  // Accents only exist beyond ASCII: skip the costly decomposition for plain ASCII.
  // eslint-disable-next-line no-control-regex
  return /^[\u0000-\u007f]*$/.test(out) ? out : out.normalize('NFD').replace(/\p{Mn}/gu, '');
}

function preTokenize(text: string): string[] {
  // Within ASCII, \p{P} adds nothing to the ASCII punctuation ranges: the same split, without Unicode classes.
  return text.trim().match(isAscii(text) ? ASCII_WORDS : WORDS) ?? [];
}

/** Letters and digits: within printable ASCII, all else is punctuation or space. */
function isWordCode(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a);
}

function isAsciiSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}

/**
 * The vocabulary's pieces of lower-case letters and digits (nearly all of it), as a trie over
 * those 36 characters. Edges sit in an open-addressing table: a dense one would take ~9 MB.
 */
class PieceTrie {
  static readonly WORD_START = 0;
  static readonly CONTINUATION = 1;
  /** Per edge: parent * 64 + character slot, plus one (0 marks a free place). */
  private readonly edges: Int32Array;
  private readonly targets: Int32Array;
  /** Per node, the token id of the piece it spells, or -1. */
  private readonly tokens: Int32Array;
  private readonly mask: number;

  constructor(vocab: ReadonlyMap<string, number>) {
    const edges = new Map<number, number>();
    const tokens = [-1, -1];
    for (const [token, id] of vocab) {
      const continuation = token.startsWith('##');
      const piece = continuation ? token.slice(2) : token;
      if (!/^[a-z0-9]+$/.test(piece)) continue;
      let node = continuation ? PieceTrie.CONTINUATION : PieceTrie.WORD_START;
      for (let i = 0; i < piece.length; i++) {
        const key = node * 64 + slot(piece.charCodeAt(i));
        let next = edges.get(key);
        if (next === undefined) {
          next = tokens.length;
          tokens.push(-1);
          edges.set(key, next);
        }
        node = next;
      }
      tokens[node] = id;
    }
    let size = 1024;
    while (size < 2 * edges.size) size *= 2;
    this.mask = size - 1;
    this.edges = new Int32Array(size);
    this.targets = new Int32Array(size);
    for (const [key, next] of edges) {
      let i = hashEdge(key) & this.mask;
      while (this.edges[i] !== 0) i = (i + 1) & this.mask;
      this.edges[i] = key + 1;
      this.targets[i] = next;
    }
    this.tokens = Int32Array.from(tokens);
  }

  /** The node reached from `node` by the character `c` (a lower-case letter or a digit), or -1. */
  child(node: number, c: number): number {
    const key = node * 64 + slot(c) + 1;
    for (let i = hashEdge(key - 1) & this.mask; ; i = (i + 1) & this.mask) {
      const e = this.edges[i]!;
      if (e === key) return this.targets[i]!;
      if (e === 0) return -1;
    }
  }

  token(node: number): number {
    return this.tokens[node]!;
  }
}

/** Digits 0-9, letters 10-35. */
function slot(c: number): number {
  return c <= 0x39 ? c - 0x30 : c - 0x57;
}

function hashEdge(key: number): number {
  return Math.imul(key, 0x9e3779b1) >>> 15;
}

function isHighSurrogate(c: number): boolean {
  return c >= 0xd800 && c <= 0xdbff;
}

function isAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0x7e) return false;
  return true;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
