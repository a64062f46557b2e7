import { FILE_ROLES, type FileRole } from '../scan/fileRole';
import type { FileState, StoredChunk } from './records';
import { createVectorDigits, type VectorDigits } from './vectorDigits';

/**
 * One shard on disk is a complete Vectra index file (`index.json`): Vectra's own `LocalIndex` can
 * open it and answer `queryItems`. Two choices keep it small and safe:
 * - vectors are stored as int8-scaled integers; cosine similarity ignores scale, so Vectra's
 *   ranking still works, and each dimension costs ~4 bytes of JSON instead of ~20;
 * - the shard also carries the state of its files (`nearby.files`), so one atomic rename commits
 *   a file's chunks and its state together. Vectra ignores the extra key.
 */
export interface ShardFileEntry {
  state: FileState;
  chunks: StoredChunk[];
}

export interface EncodableFile extends ShardFileEntry {
  /** The int8 vector of each chunk, in order. */
  ints(i: number): ArrayLike<number>;
}

export interface DecodedFile extends ShardFileEntry {
  /** Item number of the file's first chunk in `DecodedShard.vectors`; the others follow it in order. */
  first: number;
}

export interface DecodedShard {
  modelId: string;
  dimension: number;
  /** The keyword file beside the shard (see keywordFile.ts); absent in shards written before there was one. */
  keywords?: string;
  files: Map<string, DecodedFile>;
  /** Every item's int8 vector in -127..127, `dimension` values each, in item order (each file's together). */
  vectors: Int8Array;
  /** Per item, the sum of |x| and the sum of x² over its vector: the row norms search needs, without another pass. */
  sums: Int32Array;
}

interface VectraItem {
  id: string;
  metadata: Record<string, string | number>;
  vector: number[];
  norm: number;
}

interface NearbySection {
  modelId: string;
  dimension: number;
  files: Record<string, [number, number]>;
  keywords?: string;
}

/** Encodes a shard straight into bytes: no string per number, nothing for the GC to chase. */
export function encodeShard(modelId: string, dimension: number, files: readonly [string, EncodableFile][], keywords?: string): Uint8Array {
  const states: Record<string, [number, number]> = {};
  // Room for the usual item up front: growing by doubling copied the shard about twice over.
  const out = new ByteWriter(files.reduce((n, [path, f]) => n + f.chunks.length * (dimension * 4 + 2 * path.length + 220), 1024));
  out.text('{"version":1,"metadata_config":{},"items":[');
  let first = true;
  for (const [path, file] of files) {
    states[path] = [file.state.mtimeMs, file.state.size];
    // The item text is assembled from parts quoted once per file: a metadata object and two
    // JSON.stringify calls per item were half of every write.
    const pathJson = JSON.stringify(path);
    const idStart = `{"id":${pathJson.slice(0, -1)}#`;
    file.chunks.forEach((chunk, i) => {
      const symbol = (chunk.symbol !== undefined ? `,"symbol":${JSON.stringify(chunk.symbol)}` : '') + (chunk.role !== undefined ? `,"role":"${chunk.role}"` : '') + (chunk.minor ? ',"minor":1' : '');
      out.text(
        `${first ? '' : ','}${idStart}${chunk.startLine}-${chunk.endLine}#${i}","metadata":{"path":${pathJson},"start":${chunk.startLine},"end":${chunk.endLine},` +
          `"language":${JSON.stringify(chunk.language)},"kind":${chunk.kind === 'doc' ? '"doc"' : '"code"'},"hash":${JSON.stringify(chunk.hash)}${symbol}},"vector":[`,
      );
      const sumOfSquares = out.ints(file.ints(i));
      out.text(`],"norm":${Math.sqrt(sumOfSquares)}}`);
      first = false;
    });
  }
  out.text(`],"nearby":${JSON.stringify({ modelId, dimension, files: states, ...(keywords ? { keywords } : {}) } satisfies NearbySection)}}`);
  return out.bytes();
}

/** The decimal text of every int8 value, four bytes a value (padded), and its width. */
const INT_TEXT = new Uint8Array(256 * 4);
const INT_WIDTH = new Uint8Array(256);
for (let v = -128; v < 128; v++) {
  const text = String(v);
  for (let k = 0; k < text.length; k++) INT_TEXT[(v + 128) * 4 + k] = text.charCodeAt(k);
  INT_WIDTH[v + 128] = text.length;
}

class ByteWriter {
  private buf: Buffer;
  private len = 0;

  constructor(capacity: number) {
    this.buf = Buffer.allocUnsafe(capacity);
  }

  text(s: string): void {
    this.reserve(s.length * 3);
    this.len += this.buf.write(s, this.len, 'utf8');
  }

  /**
   * Comma-separated decimal integers in -128..127; returns their sum of squares. Each value's four
   * text bytes are copied from a table and the position moved by its real width (no branch on it).
   */
  ints(values: ArrayLike<number>): number {
    if (values.length === 0) return 0;
    this.reserve(values.length * 5 + 4);
    const b = this.buf;
    let p = this.len;
    let sumOfSquares = 0;
    for (let j = 0; j < values.length; j++) {
      const x = values[j]!;
      sumOfSquares += x * x;
      const v = x + 128;
      const at = v << 2;
      b[p] = INT_TEXT[at]!;
      b[p + 1] = INT_TEXT[at + 1]!;
      b[p + 2] = INT_TEXT[at + 2]!;
      b[p + 3] = INT_TEXT[at + 3]!;
      p += INT_WIDTH[v]!;
      b[p++] = 0x2c;
    }
    this.len = p - 1;
    return sumOfSquares;
  }

  bytes(): Uint8Array {
    return this.buf.subarray(0, this.len);
  }

  private reserve(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.len + n));
    this.buf.copy(next, 0, 0, this.len);
    this.buf = next;
  }
}

/**
 * Reads shards, one at a time, in memory it keeps between them: a shard's bytes go into
 * `buffer(size)` (a file can be read straight into it), `decode()` parses them. Fresh memory for
 * every shard costs a page fault per 4 KB and a full garbage collection for almost every shard
 * of a large index; reused, neither happens.
 */
export class ShardDecoder {
  private readonly digits: VectorDigits = createVectorDigits();
  private size = 0;

  /** Room for a shard's `size` bytes; valid until the next call on this decoder. */
  buffer(size: number): Buffer {
    this.size = size;
    return this.digits.input(size);
  }

  /**
   * Parses the bytes put in `buffer`; throws on anything malformed so the caller can discard the
   * shard as a whole. The result's `vectors` and `sums` may live in the decoder's memory: use
   * them before the next call on it. Shards Nearby wrote are read by a byte scanner that puts
   * vector digits straight into int8 (500k chunks through `JSON.parse` take seconds and
   * gigabytes); anything else goes through `JSON.parse`.
   */
  decode(): DecodedShard {
    let fast: DecodedShard | undefined;
    try {
      fast = decodeOwnFormat(this.digits);
    } catch {
      fast = undefined;
    }
    // `bytes()` again: decoding may have moved the memory.
    return fast ?? decodeGeneric(this.digits.bytes().toString('utf8', 0, this.size));
  }
}

const ID = Buffer.from('{"id":');
const METADATA = Buffer.from(',"metadata":{"path":');
const START = Buffer.from(',"start":');
const END = Buffer.from(',"end":');
const LANGUAGE = Buffer.from(',"language":');
const KIND = Buffer.from(',"kind":');
const HASH = Buffer.from(',"hash":');
const SYMBOL = Buffer.from(',"symbol":');
const ROLE = Buffer.from(',"role":');
const MINOR = Buffer.from(',"minor":1');
const VECTOR = Buffer.from('},"vector":[');
const NORM = Buffer.from(',"norm":');
const NEARBY = Buffer.from('],"nearby":');
const HEAD = Buffer.from('{"version":1,"metadata_config":{},"items":[');

/**
 * The exact layout `encodeShard` writes, read byte by byte: metadata straight into chunk objects
 * (a file's path string shared by its chunks), vector digits straight into int8. Returns undefined
 * for anything else, which then goes through `JSON.parse`. On a 500k-chunk index this is most of
 * the load, and a generic `JSON.parse` of the metadata alone took longer than all the rest.
 */
function decodeOwnFormat(digits: VectorDigits): DecodedShard | undefined {
  let buf = digits.bytes();
  if (!buf.subarray(0, HEAD.length).equals(HEAD)) return undefined;
  const nearbyAt = buf.lastIndexOf(NEARBY);
  if (nearbyAt < 0 || buf[buf.length - 1] !== 0x7d) return undefined;
  const nearby = JSON.parse(buf.toString('utf8', nearbyAt + NEARBY.length, buf.length - 1)) as NearbySection;
  const { modelId, dimension } = nearby;
  if (!Number.isInteger(dimension) || dimension <= 0) return undefined;
  const files = filesOf(nearby);

  // Each value takes at least two bytes ("7,"): room for every item the bytes can hold.
  const capacity = Math.floor(nearbyAt / (2 * dimension));
  digits.reserve(capacity, dimension);
  buf = digits.bytes();
  const r = new ShardReader(buf, HEAD.length, nearbyAt);
  let count = 0;
  let file: DecodedFile | undefined;
  const path = new Reused();
  const language = new Reused();
  const kind = new Reused();
  const roleText = new Reused();
  while (r.p < nearbyAt) {
    if (!r.skip(ID) || !r.skipString() || !r.skip(METADATA)) return undefined;
    const filePath = r.string(path);
    if (filePath === undefined || !r.skip(START)) return undefined;
    const startLine = r.int();
    if (!r.skip(END)) return undefined;
    const endLine = r.int();
    if (!r.skip(LANGUAGE)) return undefined;
    const lang = r.string(language);
    if (lang === undefined || !r.skip(KIND)) return undefined;
    const k = r.string(kind);
    if (k === undefined || !r.skip(HASH)) return undefined;
    const hash = r.string();
    if (hash === undefined || startLine < 0 || endLine < 0) return undefined;
    const chunk: StoredChunk = { path: filePath, startLine, endLine, language: lang, kind: k === 'doc' ? 'doc' : 'code', hash };
    if (r.skip(SYMBOL)) {
      const symbol = r.string();
      if (symbol === undefined) return undefined;
      chunk.symbol = symbol;
    }
    if (r.skip(ROLE)) {
      const role = r.string(roleText);
      if (role === undefined || !isRole(role)) return undefined;
      if (role !== 'source') chunk.role = role;
    }
    if (r.skip(MINOR)) chunk.minor = true;
    if (!r.skip(VECTOR)) return undefined;
    if (file?.chunks[0]?.path !== filePath) {
      file = files.get(filePath);
      if (!file) throw new Error(`item ${count} belongs to no file`);
      // Nearby writes a file's items together; a file seen before is some other writer's order.
      if (file.chunks.length > 0) return undefined;
      file.first = count;
    }
    file.chunks.push(chunk);
    if (count >= capacity) return undefined;
    r.p = digits.read(r.p, nearbyAt, count, dimension);
    if (r.p < 0 || !r.skip(NORM)) return undefined;
    // The norm is a plain number (Vectra's own field); Nearby has the integers' sums instead.
    while (r.p < nearbyAt && r.b[r.p] !== 0x7d) r.p++;
    if (r.p >= nearbyAt) return undefined;
    count++;
    r.p++;
    if (r.b[r.p] === 0x2c) r.p++;
    else if (r.p !== nearbyAt) return undefined;
  }
  return { modelId, dimension, ...keywordsOf(nearby), files, vectors: digits.vectors().subarray(0, count * dimension), sums: digits.sums().subarray(0, 2 * count) };
}

/** The last string read for one field, kept so that the next identical bytes reuse it. */
class Reused {
  start = 0;
  length = -1;
  value = '';
}

/** A position in a shard's bytes, and the few JSON pieces Nearby's own layout is made of. */
class ShardReader {
  /** A plain Uint8Array: element reads on it stay on V8's fastest path. */
  readonly b: Uint8Array;

  constructor(
    private readonly buf: Buffer,
    public p: number,
    readonly end: number,
  ) {
    this.b = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  /** Steps over `pattern` if the bytes at the position are exactly it. */
  skip(pattern: Uint8Array): boolean {
    const { b, p } = this;
    if (p + pattern.length > this.end) return false;
    for (let i = 0; i < pattern.length; i++) if (b[p + i] !== pattern[i]) return false;
    this.p = p + pattern.length;
    return true;
  }

  skipString(): boolean {
    const { b } = this;
    if (b[this.p] !== 0x22) return false;
    for (let p = this.p + 1; p < this.end; p++) {
      const c = b[p];
      if (c === 0x5c) p++;
      else if (c === 0x22) {
        this.p = p + 1;
        return true;
      }
    }
    return false;
  }

  /** A JSON string; plain ASCII without escapes is sliced directly, anything else goes through JSON.parse. */
  string(last?: Reused): string | undefined {
    const { b } = this;
    const start = this.p;
    if (b[start] !== 0x22) return undefined;
    let plain = true;
    let p = start + 1;
    for (; p < this.end; p++) {
      const c = b[p]!;
      if (c === 0x22) break;
      if (c === 0x5c) {
        plain = false;
        p++;
      } else if (c >= 0x80) plain = false;
    }
    if (p >= this.end) return undefined;
    this.p = p + 1;
    const length = p - start - 1;
    if (last && length === last.length && sameBytes(b, start + 1, last.start, length)) return last.value;
    let value: string;
    if (plain) value = this.buf.toString('latin1', start + 1, p);
    else {
      try {
        value = JSON.parse(this.buf.toString('utf8', start, p + 1)) as string;
      } catch {
        return undefined;
      }
    }
    if (last) {
      last.start = start + 1;
      last.length = length;
      last.value = value;
    }
    return value;
  }

  /** A non-negative integer of at most 9 digits, or -1. */
  int(): number {
    const { b } = this;
    let p = this.p;
    let v = 0;
    for (; p < this.end && p - this.p < 10; p++) {
      const d = b[p]! - 0x30;
      if (d < 0 || d > 9) break;
      v = v * 10 + d;
    }
    if (p === this.p || p - this.p > 9) return -1;
    this.p = p;
    return v;
  }
}

function sameBytes(b: Uint8Array, x: number, y: number, length: number): boolean {
  for (let i = 0; i < length; i++) if (b[x + i] !== b[y + i]) return false;
  return true;
}

function decodeGeneric(json: string): DecodedShard {
  const data = JSON.parse(json) as { items?: VectraItem[]; nearby?: NearbySection };
  if (!data.nearby || !Array.isArray(data.items)) throw new Error('not a Nearby shard (no "nearby" section)');
  const { modelId, dimension } = data.nearby;
  const files = filesOf(data.nearby);
  const itemsOf = new Map<DecodedFile, VectraItem[]>();
  data.items.forEach((item, i) => {
    if (item.vector.length !== dimension) throw new Error(`item ${item.id} has ${item.vector.length} dimensions, expected ${dimension}`);
    const file = files.get(String(item.metadata['path']));
    if (!file) throw new Error(`item ${i} belongs to no file`);
    file.chunks.push(chunkOf(item.metadata));
    const items = itemsOf.get(file);
    if (items) items.push(item);
    else itemsOf.set(file, [item]);
  });
  // Vectors laid out file by file, as Nearby writes them.
  const vectors = new Int8Array(data.items.length * dimension);
  const sums = new Int32Array(2 * data.items.length);
  let n = 0;
  for (const file of files.values()) {
    file.first = n;
    for (const item of itemsOf.get(file) ?? []) {
      // Written by something else (floats): bring it to int8 the way Nearby stores every vector.
      let maxAbs = 0;
      for (const x of item.vector) maxAbs = Math.max(maxAbs, Math.abs(x));
      const scale = maxAbs > 0 ? 127 / maxAbs : 0;
      item.vector.forEach((x, j) => {
        const v = Math.round(x * scale);
        vectors[n * dimension + j] = v;
        sums[2 * n] += Math.abs(v);
        sums[2 * n + 1] += v * v;
      });
      n++;
    }
  }
  return { modelId, dimension, ...keywordsOf(data.nearby), files, vectors, sums };
}

/** The keyword file's name, if it is a plain file name (a shard names nothing outside its folder). */
function keywordsOf(nearby: NearbySection): { keywords?: string } {
  const k = nearby.keywords;
  return typeof k === 'string' && /^keywords-[0-9a-f]+\.bin$/.test(k) ? { keywords: k } : {};
}

function isRole(v: string): v is FileRole {
  return (FILE_ROLES as readonly string[]).includes(v);
}

function filesOf(nearby: NearbySection): Map<string, DecodedFile> {
  const files = new Map<string, DecodedFile>();
  for (const [path, [mtimeMs, size]] of Object.entries(nearby.files)) files.set(path, { state: { mtimeMs, size }, chunks: [], first: 0 });
  return files;
}

function chunkOf(m: Record<string, string | number>): StoredChunk {
  const chunk: StoredChunk = {
    path: String(m['path']),
    startLine: Number(m['start']),
    endLine: Number(m['end']),
    language: String(m['language']),
    kind: m['kind'] === 'doc' ? 'doc' : 'code',
    hash: String(m['hash']),
  };
  if (m['symbol'] !== undefined) chunk.symbol = String(m['symbol']);
  const role = m['role'];
  if (typeof role === 'string' && isRole(role) && role !== 'source') chunk.role = role;
  if (m['minor'] === 1) chunk.minor = true;
  return chunk;
}
