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

  private constructor(
    private readonly vocab: Map<string, number>,
    private readonly special: Map<string, number>,
    private readonly specialPattern: RegExp | undefined,
    private readonly cls: number,
    private readonly sep: number,
    private readonly unk: number,
    private readonly maxCharsPerWord: number,
  ) {}

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
    return new WordPieceTokenizer(vocab, special, specialPattern, cls, sep, unk, model.max_input_chars_per_word ?? 100);
  }

  /** Token ids with [CLS] and [SEP], cut to `maxLength` (keeping [SEP]) when given. */
  encode(text: string, maxLength = Number.MAX_SAFE_INTEGER): number[] {
    const ids = [this.cls];
    const parts = this.specialPattern ? text.split(this.specialPattern) : [text];
    parts.forEach((part, i) => {
      // split() with a capture group puts the special tokens at odd positions.
      if (i % 2 === 1) ids.push(this.special.get(part)!);
      else if (part) for (const word of preTokenize(normalize(part))) for (const t of this.word(word)) ids.push(t);
    });
    if (ids.length + 1 > maxLength) ids.length = Math.max(1, maxLength - 1);
    ids.push(this.sep);
    return ids;
  }

  count(text: string): number {
    return this.encode(text).length;
  }

  /** Greedy longest-match-first subwords of one word; memoised, since code repeats its words. */
  private word(word: string): readonly number[] {
    const hit = this.cache.get(word);
    if (hit) return hit;
    const chars = [...word];
    let out: number[];
    if (chars.length > this.maxCharsPerWord) out = [this.unk];
    else {
      out = [];
      let start = 0;
      while (start < chars.length) {
        let end = chars.length;
        let found: number | undefined;
        while (start < end) {
          const piece = chars.slice(start, end).join('');
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
    if (this.cache.size > 200_000) this.cache.clear();
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

function isChinese(cp: number): boolean {
  return (cp >= 0x4e00 && cp <= 0x9fff) || (cp >= 0x3400 && cp <= 0x4dbf) || (cp >= 0xf900 && cp <= 0xfaff);
}

/** BertNormalizer: drop control characters, spaces for whitespace and around CJK, lower case, no accents. */
function normalize(text: string): string {
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
  return text.trim().match(WORDS) ?? [];
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
