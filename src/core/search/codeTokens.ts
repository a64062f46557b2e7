/**
 * Terms for keyword search over code and prose. An identifier is kept whole and also split into
 * its parts (`retryUpload` → `retryupload`, `retry`, `upload`; `MAX_RETRIES` → `maxretries`,
 * `max`, `retry`), so a query can name the identifier or describe it in words.
 */

import { CharTable, HASH_START, hashChar } from '../charTable';
import { grown } from '../typedArrays';

// English words that carry no meaning in a query ("how do I ...") and crowd the postings of prose.
const STOPWORDS = new Set(
  ('a an and are as at be but by can do does for from has have how i if in into is it its of on or our ' +
    'should so that the their then there these this to was we were what when where which while who why will with would you your').split(' '),
);

// Identifier parts: lower-case runs, capitalised words, acronyms (HTTPServer → http, server), digits.
const PART = /[A-Z]{2,}(?=[A-Z][a-z]|\d|\b|_)|[A-Z]?[a-z]+|[A-Z]+|\d+/g;

/** A light, conservative suffix stemmer: enough to meet `uploads`/`upload`, `retried`/`retry`. */
export function stem(term: string): string {
  if (term.length <= 3 || /\d/.test(term)) return term;
  if (term.endsWith('ies') && term.length > 4) return `${term.slice(0, -3)}y`;
  if (term.endsWith('ied') && term.length > 4) return `${term.slice(0, -3)}y`;
  if (term.endsWith('sses')) return term.slice(0, -2);
  if (term.endsWith('ing') && term.length > 5) return undouble(term.slice(0, -3));
  if (term.endsWith('ed') && term.length > 4) return undouble(term.slice(0, -2));
  if (term.endsWith('es') && /(?:ch|sh|x|z)es$/.test(term)) return term.slice(0, -2);
  if (term.endsWith('s') && !term.endsWith('ss') && !term.endsWith('us') && !term.endsWith('is')) return term.slice(0, -1);
  return term;
}

function undouble(s: string): string {
  return s.length > 3 && s.at(-1) === s.at(-2) && !'lsz'.includes(s.at(-1)!) ? s.slice(0, -1) : s;
}

/**
 * Appends the terms of `text` to `out` (repeats kept: they are term frequencies). A word is
 * `[A-Za-z_$][A-Za-z0-9_$]*` or a run of digits, found by hand, not by a regular expression (a
 * match object and a string per word cost more than the rest); a word met before is found by its
 * characters.
 */
export function codeTerms(text: string, out: string[] = []): string[] {
  const n = text.length;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    const digits = isDigit(c);
    if (!digits && !isWordStart(c)) {
      i++;
      continue;
    }
    const start = i;
    let h = hashChar(HASH_START, c);
    for (i++; i < n; i++) {
      const d = text.charCodeAt(i);
      if (digits ? !isDigit(d) : !isDigit(d) && !isWordStart(d)) break;
      h = hashChar(h, d);
    }
    if (i - start > 64) continue; // hashes, base64 and other noise
    let terms = wordTerms.find(text, start, i, h);
    if (!terms) {
      const word = text.slice(start, i);
      terms = termsOfWord(word);
      wordTerms.insert(word, h, terms);
    }
    for (let j = 0; j < terms.length; j++) out.push(terms[j]!);
  }
  return out;
}

/** `[A-Za-z_$]`: what a word starts with, and (with digits) what it goes on with. */
function isWordStart(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c === 0x5f || c === 0x24;
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

// Code repeats its words: each one's terms are worked out once (per process, bounded).
const wordTerms = new CharTable<readonly string[]>(false);

function termsOfWord(word: string): readonly string[] {
  const out: string[] = [];
  const parts = word.match(PART) ?? [];
  // Separators dropped, so `retry_upload`, `retryUpload` and `RetryUpload` are one term.
  const whole = word.toLowerCase().replace(/[_$]/g, '');
  if (parts.length > 1 && whole.length > 1) out.push(whole);
  for (const part of parts) {
    const p = part.toLowerCase();
    if (p.length < 2 && !/\d/.test(p)) continue;
    if (STOPWORDS.has(p)) continue;
    out.push(stem(p));
  }
  return out;
}

/**
 * The terms of a file's chunks, as the keyword index takes them: each distinct term of the file
 * once (`vocabulary`), and per chunk which of them it holds and how often. A file's chunks share
 * most of their words, so this is far smaller to send between threads than a list per chunk, and
 * the index looks each term up once per file.
 */
export interface FileTerms {
  vocabulary: string[];
  /**
   * The vocabulary's numbers in a numbering that outlives the file (`space` stands for it): terms
   * from the parsing thread come numbered, and the keyword index remembers its id for each number
   * instead of looking the term up for every file that holds it.
   */
  numbered?: { space: object; numbers: Uint32Array };
  /** Chunk `c`'s entries are `ids[offsets[c]]` .. `ids[offsets[c + 1] - 1]`, with their counts beside them. */
  offsets: Uint32Array;
  /** Places in `vocabulary`, each once per chunk. */
  ids: Uint32Array;
  counts: Uint16Array;
}

export function fileTerms(texts: readonly string[]): FileTerms {
  const place = new Map<string, number>();
  const vocabulary: string[] = [];
  const offsets = new Uint32Array(texts.length + 1);
  let ids = new Uint32Array(1024);
  let counts = new Uint16Array(1024);
  let n = 0;
  // Per vocabulary entry, 1 + its position among the current chunk's entries (0: not in it yet).
  let slot = new Int32Array(1024);
  const terms: string[] = [];
  texts.forEach((text, c) => {
    const from = n;
    terms.length = 0;
    for (const term of codeTerms(text, terms)) {
      let id = place.get(term);
      if (id === undefined) {
        id = vocabulary.push(term) - 1;
        place.set(term, id);
        if (id >= slot.length) slot = grown(slot, slot.length * 2);
      }
      const at = slot[id]!;
      if (at > 0) counts[at - 1] = Math.min(65_535, counts[at - 1]! + 1);
      else {
        if (n === ids.length) {
          ids = grown(ids, n * 2);
          counts = grown(counts, n * 2);
        }
        ids[n] = id;
        counts[n] = 1;
        slot[id] = ++n;
      }
    }
    for (let i = from; i < n; i++) slot[ids[i]!] = 0;
    offsets[c + 1] = n;
  });
  return { vocabulary, offsets, ids: ids.slice(0, n), counts: counts.slice(0, n) };
}

/** Distinct query terms, in order. */
export function queryTerms(query: string): string[] {
  return [...new Set(codeTerms(query))];
}

/**
 * Names of programming languages, as a query says them ("read a csv file in python"), and the
 * languages (chunk language ids) each names: code seldom names its own language, so in a chunk of
 * that language the word is no content of it (dev splits: CoSQA keywords 0.329 -> 0.349, hybrid
 * 0.427 -> 0.443; weights 0 and 0.25 alike, 0.5 in between). Elsewhere it is content: "the
 * Java-compatible hash" of a Python project.
 */
const LANGUAGE_NAMES = new Map<string, readonly string[]>([
  ['python', ['python']], ['python3', ['python']], ['py', ['python']],
  ['javascript', ['javascript']], ['js', ['javascript']], ['typescript', ['typescript', 'tsx']],
  ['golang', ['go']], ['java', ['java']], ['ruby', ['ruby']], ['php', ['php']], ['rust', ['rust']],
  ['kotlin', ['kotlin']], ['swift', ['swift']], ['scala', ['scala']], ['perl', ['perl']], ['haskell', ['haskell']],
  ['csharp', ['csharp']], ['cpp', ['cpp']],
]);
export const OWN_LANGUAGE_WEIGHT = 0.25;

/** The chunk languages in which `term` (a query term) names the language itself, if it names one. */
export function languagesNamedBy(term: string): readonly string[] | undefined {
  return LANGUAGE_NAMES.get(term);
}

/**
 * True when a query names code rather than describing it (`parseRange`, `max_retries`, `Engine.open`):
 * such queries lean on keyword matches, sentences lean on meaning.
 */
export function looksLikeIdentifier(query: string): boolean {
  const words = query.trim().split(/\s+/).filter(Boolean);
  if (words.length === 0 || words.length > 3) return false;
  return words.some((w) => /[a-z][A-Z]|_|\.\w|::|\(\)?$|^[A-Z][a-z]+[A-Z]/.test(w)) || (words.length === 1 && /^[A-Za-z_$][\w$]*$/.test(words[0]!) && !STOPWORDS.has(words[0]!.toLowerCase()));
}
