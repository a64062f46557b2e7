import type { LexicalIndex } from '../search/lexicalIndex';
import { grown } from '../typedArrays';

/**
 * A shard's keyword entries on disk, beside its `index.json`: for each of the shard's files, each
 * chunk's terms and weighted counts, as the keyword index holds them. Binary, so that opening an
 * index puts them back in milliseconds instead of reading and tokenizing every file again.
 *
 * Layout (little-endian): "NBKW", format, then counts of files, chunks, entries and vocabulary
 * terms; the vocabulary (terms joined by "\n"; a term is a word of code, never a line break); the
 * paths (joined by "\0", which no path holds); chunks per file; entries per chunk; per entry its
 * place in the vocabulary (u32), then per entry its count (u16).
 */
const MAGIC = 0x574b424e; // "NBKW"
const FORMAT = 1;
const HEADER_BYTES = 24;

export interface ShardKeywords {
  /** Per path, its chunks' entries: `offsets` (one more than chunks) into `ids` / `counts`. */
  files: Map<string, { offsets: Uint32Array; ids: Uint32Array; counts: Uint16Array }>;
  /** The terms joined by "\n" (a term is a word of code, never a line break), `terms` of them. */
  vocabulary: string;
  terms: number;
}

/** The entries of `paths` as `lexical` holds them; a path it has no entries for is left out. */
export function encodeKeywords(paths: readonly string[], lexical: LexicalIndex): Uint8Array {
  const place = new Map<number, number>();
  const vocabulary: string[] = [];
  const kept: string[] = [];
  const chunksPerFile: number[] = [];
  const entriesPerChunk: number[] = [];
  let ids = new Uint32Array(1024);
  let counts = new Uint16Array(1024);
  let n = 0;
  for (const p of paths) {
    if (!lexical.hasFile(p)) continue;
    kept.push(p);
    let chunks = 0;
    lexical.entriesOf(p, (termIds, termCounts) => {
      chunks++;
      entriesPerChunk.push(termIds.length);
      if (n + termIds.length > ids.length) {
        ids = grown(ids, Math.max(2 * ids.length, n + termIds.length));
        counts = grown(counts, ids.length);
      }
      for (let i = 0; i < termIds.length; i++) {
        const id = termIds[i]!;
        let at = place.get(id);
        if (at === undefined) {
          at = vocabulary.push(lexical.term(id)) - 1;
          place.set(id, at);
        }
        ids[n] = at;
        counts[n++] = termCounts[i]!;
      }
    });
    chunksPerFile.push(chunks);
  }
  const vocabularyBytes = Buffer.from(vocabulary.join('\n'), 'utf8');
  const pathBytes = Buffer.from(kept.join('\0'), 'utf8');
  const size = HEADER_BYTES + 8 + vocabularyBytes.length + pathBytes.length + 4 * (kept.length + entriesPerChunk.length + n) + 2 * n;
  const out = Buffer.alloc(size);
  let at = 0;
  for (const v of [MAGIC, FORMAT, kept.length, entriesPerChunk.length, n, vocabulary.length]) at = out.writeUInt32LE(v, at);
  at = out.writeUInt32LE(vocabularyBytes.length, at);
  at += vocabularyBytes.copy(out, at);
  at = out.writeUInt32LE(pathBytes.length, at);
  at += pathBytes.copy(out, at);
  for (const c of chunksPerFile) at = out.writeUInt32LE(c, at);
  for (const e of entriesPerChunk) at = out.writeUInt32LE(e, at);
  for (let i = 0; i < n; i++) at = out.writeUInt32LE(ids[i]!, at);
  for (let i = 0; i < n; i++) at = out.writeUInt16LE(counts[i]!, at);
  return out;
}

/** Bytes of a keyword file's header: what `entriesInHeader` reads. */
export const KEYWORD_HEADER_BYTES = HEADER_BYTES;

/** How many entries a keyword file holds, from its first bytes; undefined when they are not a keyword file's. */
export function entriesInHeader(header: Buffer): number | undefined {
  if (header.length < HEADER_BYTES || header.readUInt32LE(0) !== MAGIC || header.readUInt32LE(4) !== FORMAT) return undefined;
  return header.readUInt32LE(16);
}

/** Reads what `encodeKeywords` wrote; throws on anything malformed (the caller reads those files again). */
export function decodeKeywords(bytes: Buffer): ShardKeywords {
  const fail = (why: string): never => {
    throw new Error(`keyword file: ${why}`);
  };
  if (bytes.length < HEADER_BYTES + 8) fail('truncated');
  if (bytes.readUInt32LE(0) !== MAGIC) fail('not a keyword file');
  if (bytes.readUInt32LE(4) !== FORMAT) fail(`format ${bytes.readUInt32LE(4)}, expected ${FORMAT}`);
  const [files, chunks, entries, terms] = [8, 12, 16, 20].map((o) => bytes.readUInt32LE(o)) as [number, number, number, number];
  let at = HEADER_BYTES;
  const text = (): string => {
    if (at + 4 > bytes.length) fail('truncated');
    const length = bytes.readUInt32LE(at);
    at += 4;
    if (at + length > bytes.length) fail('truncated');
    const s = bytes.toString('utf8', at, at + length);
    at += length;
    return s;
  };
  const vocabulary = text();
  const paths = files === 0 ? (text(), []) : text().split('\0');
  if (linesIn(vocabulary) !== terms || paths.length !== files) fail('counts do not match its contents');
  if (at + 4 * (files + chunks + entries) + 2 * entries !== bytes.length) fail('truncated or overlong');
  const chunksPerFile = littleEndianArray(bytes, at, files, Uint32Array);
  const entriesPerChunk = littleEndianArray(bytes, (at += 4 * files), chunks, Uint32Array);
  const ids = littleEndianArray(bytes, (at += 4 * chunks), entries, Uint32Array);
  const counts = littleEndianArray(bytes, (at += 4 * entries), entries, Uint16Array);
  for (let i = 0; i < entries; i++) if (ids[i]! >= terms) fail('a term outside the vocabulary');
  const out = new Map<string, { offsets: Uint32Array; ids: Uint32Array; counts: Uint16Array }>();
  let chunk = 0;
  let entry = 0;
  paths.forEach((p, f) => {
    const n = chunksPerFile[f]!;
    if (chunk + n > chunks) fail('more chunks than it holds');
    const offsets = new Uint32Array(n + 1);
    const first = entry;
    for (let c = 0; c < n; c++) {
      entry += entriesPerChunk[chunk++]!;
      offsets[c + 1] = entry - first;
    }
    if (entry > entries) fail('more entries than it holds');
    out.set(p, { offsets, ids: ids.subarray(first, entry), counts: counts.subarray(first, entry) });
  });
  if (chunk !== chunks || entry !== entries) fail('counts do not match its contents');
  return { files: out, vocabulary, terms };
}

/** How many "\n"-separated lines `text` holds (none when empty). */
function linesIn(text: string): number {
  if (text.length === 0) return 0;
  let lines = 1;
  for (let at = text.indexOf('\n'); at >= 0; at = text.indexOf('\n', at + 1)) lines++;
  return lines;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * `count` little-endian numbers at `at`, copied out in one block (the file's numbers sit at any
 * byte offset, a typed array only at a multiple of its element size); one at a time on a
 * big-endian machine.
 */
function littleEndianArray<T extends Uint16Array | Uint32Array>(bytes: Buffer, at: number, count: number, Type: { new (buffer: ArrayBuffer): T; new (length: number): T; BYTES_PER_ELEMENT: number }): T {
  const size = Type.BYTES_PER_ELEMENT;
  if (LITTLE_ENDIAN) return new Type(bytes.buffer.slice(bytes.byteOffset + at, bytes.byteOffset + at + size * count) as ArrayBuffer);
  const out = new Type(count);
  for (let i = 0; i < count; i++) out[i] = size === 4 ? bytes.readUInt32LE(at + 4 * i) : bytes.readUInt16LE(at + 2 * i);
  return out;
}
