import { readFileSync } from 'node:fs';

/**
 * BERT WordPiece tokenization (normalizer, pre-tokenizer and model as `tokenizer.json` describes
 * them), written for speed: the indexer counts tokens of every candidate chunk and tokenizes every
 * chunk it embeds, and the general-purpose tokenizer of transformers.js spends most of its time on
 * machinery this one tokenizer does not need. It yields the same ids as transformers.js (tested
 * on real code); `load` returns undefined for any other tokenizer, which then stays in charge.
 */
export class WordPieceTokenizer {
  private readonly cache = new Map<string, readonly number[]>();
  private readonly words = new WordTable();
  /** Ids of each ASCII punctuation character, by character code. */
  private readonly punctuation: (readonly number[])[] = [];

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
    for (let c = 0x21; c <= 0x7e; c++) if (!isWordCode(c)) this.punctuation[c] = this.word(String.fromCharCode(c));
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
  encode(text: string, maxLength = Number.MAX_SAFE_INTEGER): number[] {
    return [...this.wrap(this.pieces(text), maxLength)];
  }

  /** The ids of `text` without [CLS] and [SEP]. */
  pieces(text: string): number[] {
    const ids: number[] = [];
    this.eachPiece(text, (pieces) => {
      for (const t of pieces) ids.push(t);
    });
    return ids;
  }

  /** [CLS] `ids` [SEP], cut to `maxLength` (keeping [SEP]). */
  wrap(ids: readonly number[], maxLength = Number.MAX_SAFE_INTEGER): Int32Array {
    const n = Math.max(0, Math.min(ids.length, maxLength - 2));
    const out = new Int32Array(n + 2);
    out[0] = this.cls;
    for (let i = 0; i < n; i++) out[i + 1] = ids[i]!;
    out[n + 1] = this.sep;
    return out;
  }

  /** `encode(text).length`, without building the ids: the chunker asks this of every line. */
  count(text: string): number {
    let n = 2;
    this.eachPiece(text, (pieces) => (n += pieces.length));
    return n;
  }

  private eachPiece(text: string, emit: (ids: readonly number[]) => void): void {
    const parts = this.specialPattern?.test(text) ? text.split(this.specialPattern) : [text];
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i]!;
      // split() with a capture group puts the special tokens at odd positions.
      if (i % 2 === 1) emit([this.special.get(part)!]);
      else if (part) this.eachPlainOrNot(part, emit);
    }
  }

  /**
   * Printable ASCII goes to the fast scanner; only the whitespace-delimited stretches that hold
   * anything else (an accented word, an emoji, a control character) take the general path. Both
   * split at whitespace first, so the stretches are tokenized as they would be in place, and one
   * non-ASCII character no longer sends a whole chunk down the slow path.
   */
  private eachPlainOrNot(text: string, emit: (ids: readonly number[]) => void): void {
    const n = text.length;
    let plainFrom = 0;
    for (let i = 0; i < n; i++) {
      if (isPlainCode(text.charCodeAt(i))) continue;
      let start = i;
      while (start > plainFrom && !isAsciiSpace(text.charCodeAt(start - 1))) start--;
      let end = i + 1;
      while (end < n && !isAsciiSpace(text.charCodeAt(end))) end++;
      if (start > plainFrom) this.eachAsciiPiece(text.slice(plainFrom, start).toLowerCase(), emit);
      for (const word of preTokenize(normalize(text.slice(start, end)))) emit(this.word(word));
      plainFrom = end;
      i = end - 1;
    }
    if (plainFrom < n) this.eachAsciiPiece((plainFrom > 0 ? text.slice(plainFrom) : text).toLowerCase(), emit);
  }

  /**
   * The same split for printable ASCII, most of any code base, in one pass over the characters:
   * words are looked up by their characters in a table of words seen, so no string is built for a
   * word met before (building and hashing those strings was most of the parsing thread's time).
   */
  private eachAsciiPiece(text: string, emit: (ids: readonly number[]) => void): void {
    const n = text.length;
    let i = 0;
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c <= 0x20) i++;
      else if (!isWordCode(c)) {
        emit(this.punctuation[c]!);
        i++;
      } else {
        const start = i;
        let h = 0x811c9dc5;
        for (; i < n; i++) {
          const d = text.charCodeAt(i);
          if (!isWordCode(d)) break;
          h = Math.imul(h ^ d, 0x01000193);
        }
        let ids = this.words.find(text, start, i, h);
        if (!ids) {
          const word = text.slice(start, i);
          ids = this.word(word);
          this.words.insert(word, h, ids);
        }
        emit(ids);
      }
    }
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

/** Tab, line breaks and printable ASCII: no control character to drop, nothing to fold but case. */
function isPlainCode(c: number): boolean {
  return c <= 0x7e && (c >= 0x20 || c === 0x09 || c === 0x0a || c === 0x0d);
}

function isAsciiSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}

/**
 * Words seen, with their ids, found by their characters in a text: open addressing over a
 * power-of-two table, emptied when it fills (code's vocabulary of words is small).
 */
class WordTable {
  private keys: (string | undefined)[] = new Array<string | undefined>(1 << 16);
  private hashes = new Int32Array(1 << 16);
  private values: (readonly number[] | undefined)[] = new Array<readonly number[] | undefined>(1 << 16);
  private size = 0;

  find(text: string, start: number, end: number, hash: number): readonly number[] | undefined {
    const mask = this.keys.length - 1;
    const length = end - start;
    for (let i = hash & mask; ; i = (i + 1) & mask) {
      const key = this.keys[i];
      if (key === undefined) return undefined;
      if (this.hashes[i] === hash && key.length === length && sameChars(key, text, start)) return this.values[i];
    }
  }

  insert(word: string, hash: number, ids: readonly number[]): void {
    if (this.size >= this.keys.length / 2) {
      if (this.keys.length >= 1 << 18) {
        this.keys.fill(undefined);
        this.values.fill(undefined);
        this.size = 0;
      } else this.grow();
    }
    const mask = this.keys.length - 1;
    let i = hash & mask;
    while (this.keys[i] !== undefined) i = (i + 1) & mask;
    this.keys[i] = word;
    this.hashes[i] = hash;
    this.values[i] = ids;
    this.size++;
  }

  private grow(): void {
    const { keys, hashes, values } = this;
    this.keys = new Array<string | undefined>(keys.length * 2);
    this.hashes = new Int32Array(keys.length * 2);
    this.values = new Array<readonly number[] | undefined>(keys.length * 2);
    this.size = 0;
    keys.forEach((k, i) => k !== undefined && this.insert(k, hashes[i]!, values[i]!));
  }
}

function sameChars(word: string, text: string, start: number): boolean {
  for (let j = 0; j < word.length; j++) if (word.charCodeAt(j) !== text.charCodeAt(start + j)) return false;
  return true;
}

function isAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0x7e) return false;
  return true;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
