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
  ints: Int8Array[];
}

export interface DecodedShard {
  modelId: string;
  dimension: number;
  files: Map<string, DecodedFile>;
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

export function encodeShard(modelId: string, dimension: number, files: Iterable<[string, EncodableFile]>): string {
  const states: Record<string, [number, number]> = {};
  const items: string[] = [];
  for (const [path, file] of files) {
    states[path] = [file.state.mtimeMs, file.state.size];
    file.chunks.forEach((chunk, i) => {
      const ints = file.ints(i);
      let sum = 0;
      const values: number[] = new Array<number>(ints.length);
      for (let j = 0; j < ints.length; j++) {
        values[j] = ints[j]!;
        sum += ints[j]! * ints[j]!;
      }
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
      items.push(`{"id":${JSON.stringify(id)},"metadata":${JSON.stringify(metadata)},"vector":[${values.join(',')}],"norm":${Math.sqrt(sum)}}`);
    });
  }
  const nearby = JSON.stringify({ modelId, dimension, files: states } satisfies NearbySection);
  return `{"version":1,"metadata_config":{},"items":[${items.join(',')}],"nearby":${nearby}}`;
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

  const metas: string[] = [];
  const vectors: Int8Array[] = [];
  let pos = HEAD.length;
  while (pos < nearbyAt) {
    if (buf.compare(ITEM_START, 0, ITEM_START.length, pos, pos + ITEM_START.length) !== 0) return undefined;
    const metaStart = buf.indexOf(METADATA, pos) + METADATA.length;
    const vecAt = buf.indexOf(VECTOR, metaStart);
    if (metaStart < METADATA.length || vecAt < 0 || vecAt > nearbyAt) return undefined;
    metas.push(buf.toString('utf8', metaStart, vecAt));
    const ints = new Int8Array(dimension);
    let p = vecAt + VECTOR.length;
    let n = 0;
    for (;;) {
      let c = buf[p++]!;
      let neg = false;
      if (c === 0x2d) {
        neg = true;
        c = buf[p++]!;
      }
      if (c < 0x30 || c > 0x39) return undefined;
      let v = c - 0x30;
      for (c = buf[p++]!; c >= 0x30 && c <= 0x39; c = buf[p++]!) v = v * 10 + c - 0x30;
      if (v > 127 || n >= dimension) return undefined;
      ints[n++] = neg ? -v : v;
      if (c === 0x5d) break;
      if (c !== 0x2c) return undefined;
    }
    if (n !== dimension) throw new Error(`item ${metas.length} has ${n} dimensions, expected ${dimension}`);
    vectors.push(ints);
    if (buf.compare(NORM, 0, NORM.length, p, p + NORM.length) !== 0) return undefined;
    const end = buf.indexOf(0x7d, p);
    if (end < 0) return undefined;
    pos = end + 1;
    if (buf[pos] === 0x2c) pos++;
    else if (pos !== nearbyAt) return undefined;
  }
  // One JSON.parse for every item's metadata: far cheaper than one call per item.
  const parsed = metas.length > 0 ? (JSON.parse(`[${metas.join(',')}]`) as Record<string, string | number>[]) : [];
  parsed.forEach((m, i) => place(files, m, vectors[i]!, i));
  return { modelId, dimension, files };
}

function decodeGeneric(json: string): DecodedShard {
  const data = JSON.parse(json) as { items?: VectraItem[]; nearby?: NearbySection };
  if (!data.nearby || !Array.isArray(data.items)) throw new Error('not a Nearby shard (no "nearby" section)');
  const { modelId, dimension } = data.nearby;
  const files = filesOf(data.nearby);
  data.items.forEach((item, i) => {
    if (item.vector.length !== dimension) throw new Error(`item ${item.id} has ${item.vector.length} dimensions, expected ${dimension}`);
    // Written by something else (floats): bring it to int8 the way Nearby stores every vector.
    let maxAbs = 0;
    for (const x of item.vector) maxAbs = Math.max(maxAbs, Math.abs(x));
    const scale = maxAbs > 0 ? 127 / maxAbs : 0;
    place(files, item.metadata, Int8Array.from(item.vector, (x) => Math.round(x * scale)), i);
  });
  return { modelId, dimension, files };
}

function filesOf(nearby: NearbySection): Map<string, DecodedFile> {
  const files = new Map<string, DecodedFile>();
  for (const [path, [mtimeMs, size]] of Object.entries(nearby.files)) files.set(path, { state: { mtimeMs, size }, chunks: [], ints: [] });
  return files;
}

function place(files: Map<string, DecodedFile>, m: Record<string, string | number>, ints: Int8Array, i: number): void {
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
  file.ints.push(ints);
}
