import type { FileState, StoredChunk } from './records';

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
  /** Item number of each chunk in `DecodedShard.vectors`. */
  items: number[];
}

export interface DecodedShard {
  modelId: string;
  dimension: number;
  files: Map<string, DecodedFile>;
  /** Every item's int8 vector, `dimension` values each, in item order. */
  vectors: Int8Array;
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
}

/** Encodes a shard straight into bytes: no string per number, nothing for the GC to chase. */
export function encodeShard(modelId: string, dimension: number, files: Iterable<[string, EncodableFile]>): Uint8Array {
  const states: Record<string, [number, number]> = {};
  const out = new ByteWriter();
  out.text('{"version":1,"metadata_config":{},"items":[');
  let first = true;
  for (const [path, file] of files) {
    states[path] = [file.state.mtimeMs, file.state.size];
    file.chunks.forEach((chunk, i) => {
      const ints = file.ints(i);
      let sum = 0;
      for (let j = 0; j < ints.length; j++) sum += ints[j]! * ints[j]!;
      const metadata: Record<string, string | number> = {
        path: chunk.path,
        start: chunk.startLine,
        end: chunk.endLine,
        language: chunk.language,
        kind: chunk.kind,
        hash: chunk.hash,
      };
      if (chunk.symbol !== undefined) metadata['symbol'] = chunk.symbol;
      const id = `${chunk.path}#${chunk.startLine}-${chunk.endLine}#${i}`;
      out.text(`${first ? '' : ','}{"id":${JSON.stringify(id)},"metadata":${JSON.stringify(metadata)},"vector":[`);
      out.ints(ints);
      out.text(`],"norm":${Math.sqrt(sum)}}`);
      first = false;
    });
  }
  out.text(`],"nearby":${JSON.stringify({ modelId, dimension, files: states } satisfies NearbySection)}}`);
  return out.bytes();
}

class ByteWriter {
  private buf = Buffer.allocUnsafe(1 << 16);
  private len = 0;

  text(s: string): void {
    this.reserve(s.length * 3);
    this.len += this.buf.write(s, this.len, 'utf8');
  }

  /** Comma-separated decimal integers in -127..127. */
  ints(values: ArrayLike<number>): void {
    this.reserve(values.length * 5);
    const b = this.buf;
    let p = this.len;
    for (let j = 0; j < values.length; j++) {
      if (j > 0) b[p++] = 0x2c;
      let v = values[j]!;
      if (v < 0) {
        b[p++] = 0x2d;
        v = -v;
      }
      if (v >= 100) {
        b[p++] = 0x31;
        v -= 100;
        b[p++] = 0x30 + ((v / 10) | 0);
        b[p++] = 0x30 + (v % 10);
      } else if (v >= 10) {
        b[p++] = 0x30 + ((v / 10) | 0);
        b[p++] = 0x30 + (v % 10);
      } else b[p++] = 0x30 + v;
    }
    this.len = p;
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
 * Parses a shard; throws on anything malformed so the caller can discard the shard as a whole.
 * Shards this module wrote are read by a byte scanner that puts vector digits straight into int8
 * (loading 500k chunks through `JSON.parse` alone takes seconds and gigabytes); anything else
 * goes through `JSON.parse`.
 */
export function decodeShard(data: Buffer): DecodedShard {
  let fast: DecodedShard | undefined;
  try {
    fast = decodeOwnFormat(data);
  } catch {
    fast = undefined;
  }
  return fast ?? decodeGeneric(data.toString('utf8'));
}

const ITEM_START = Buffer.from('{"id":');
const METADATA = Buffer.from('"metadata":');
const VECTOR = Buffer.from(',"vector":[');
const NORM = Buffer.from(',"norm":');
const NEARBY = Buffer.from('],"nearby":');
const HEAD = Buffer.from('{"version":1,"metadata_config":{},"items":[');

function decodeOwnFormat(buf: Buffer): DecodedShard | undefined {
  if (buf.compare(HEAD, 0, HEAD.length, 0, HEAD.length) !== 0) return undefined;
  const nearbyAt = buf.lastIndexOf(NEARBY);
  if (nearbyAt < 0 || buf[buf.length - 1] !== 0x7d) return undefined;
  const nearby = JSON.parse(buf.toString('utf8', nearbyAt + NEARBY.length, buf.length - 1)) as NearbySection;
  const { modelId, dimension } = nearby;
  const files = filesOf(nearby);

  // A plain Uint8Array: element reads on it stay on V8's fastest path.
  const b = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  // All metadata objects are copied side by side into one JSON array and parsed in one call.
  const metas = Buffer.allocUnsafe(nearbyAt + 2);
  let metaLen = 0;
  metas[metaLen++] = 0x5b;
  let vectors = new Int8Array(dimension * 256);
  let count = 0;
  let pos = HEAD.length;
  while (pos < nearbyAt) {
    if (buf.compare(ITEM_START, 0, ITEM_START.length, pos, pos + ITEM_START.length) !== 0) return undefined;
    const metaStart = buf.indexOf(METADATA, pos) + METADATA.length;
    const vecAt = buf.indexOf(VECTOR, metaStart);
    if (metaStart < METADATA.length || vecAt < 0 || vecAt > nearbyAt) return undefined;
    if (count > 0) metas[metaLen++] = 0x2c;
    metaLen += buf.copy(metas, metaLen, metaStart, vecAt);
    if ((count + 1) * dimension > vectors.length) {
      const grown = new Int8Array(vectors.length * 2);
      grown.set(vectors);
      vectors = grown;
    }
    const p = readInts(b, vecAt + VECTOR.length, vectors, count * dimension, dimension);
    if (p < 0) return undefined;
    count++;
    if (buf.compare(NORM, 0, NORM.length, p, p + NORM.length) !== 0) return undefined;
    const close = buf.indexOf(0x7d, p);
    if (close < 0) return undefined;
    pos = close + 1;
    if (b[pos] === 0x2c) pos++;
    else if (pos !== nearbyAt) return undefined;
  }
  metas[metaLen++] = 0x5d;
  const parsed = JSON.parse(metas.toString('utf8', 0, metaLen)) as Record<string, string | number>[];
  parsed.forEach((m, i) => place(files, m, i));
  return { modelId, dimension, files, vectors: vectors.subarray(0, count * dimension) };
}

/**
 * Reads `count` comma-separated integers in -127..127 ending with `]` from `b` at `p` into `out`
 * from `at`; returns the position after the `]`, or -1 if the bytes are anything else. A value at
 * a time, with at most three digits, rather than a byte at a time: this loop is most of a load.
 */
function readInts(b: Uint8Array, p: number, out: Int8Array, at: number, count: number): number {
  const end = at + count;
  for (let n = at; n < end; n++) {
    let c = b[p++]!;
    let sign = 1;
    if (c === 0x2d) {
      sign = -1;
      c = b[p++]!;
    }
    let v = c - 0x30;
    if (v < 0 || v > 9) return -1;
    c = b[p++]!;
    let d = c - 0x30;
    if (d >= 0 && d <= 9) {
      v = v * 10 + d;
      c = b[p++]!;
      d = c - 0x30;
      if (d >= 0 && d <= 9) {
        v = v * 10 + d;
        if (v > 127) return -1;
        c = b[p++]!;
      }
    }
    if (c !== (n + 1 === end ? 0x5d : 0x2c)) return -1;
    out[n] = sign * v;
  }
  return p;
}

function decodeGeneric(json: string): DecodedShard {
  const data = JSON.parse(json) as { items?: VectraItem[]; nearby?: NearbySection };
  if (!data.nearby || !Array.isArray(data.items)) throw new Error('not a Nearby shard (no "nearby" section)');
  const { modelId, dimension } = data.nearby;
  const files = filesOf(data.nearby);
  const vectors = new Int8Array(data.items.length * dimension);
  data.items.forEach((item, i) => {
    if (item.vector.length !== dimension) throw new Error(`item ${item.id} has ${item.vector.length} dimensions, expected ${dimension}`);
    // Written by something else (floats): bring it to int8 the way Nearby stores every vector.
    let maxAbs = 0;
    for (const x of item.vector) maxAbs = Math.max(maxAbs, Math.abs(x));
    const scale = maxAbs > 0 ? 127 / maxAbs : 0;
    item.vector.forEach((x, j) => (vectors[i * dimension + j] = Math.round(x * scale)));
    place(files, item.metadata, i);
  });
  return { modelId, dimension, files, vectors };
}

function filesOf(nearby: NearbySection): Map<string, DecodedFile> {
  const files = new Map<string, DecodedFile>();
  for (const [path, [mtimeMs, size]] of Object.entries(nearby.files)) files.set(path, { state: { mtimeMs, size }, chunks: [], items: [] });
  return files;
}

function place(files: Map<string, DecodedFile>, m: Record<string, string | number>, i: number): void {
  const file = files.get(String(m['path']));
  if (!file) throw new Error(`item ${i} belongs to no file`);
  const chunk: StoredChunk = {
    path: String(m['path']),
    startLine: Number(m['start']),
    endLine: Number(m['end']),
    language: String(m['language']),
    kind: m['kind'] === 'doc' ? 'doc' : 'code',
    hash: String(m['hash']),
  };
  if (m['symbol'] !== undefined) chunk.symbol = String(m['symbol']);
  file.chunks.push(chunk);
  file.items.push(i);
}
