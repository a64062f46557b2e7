import type { FileState, StoredChunk } from './records';

/**
 * One shard on disk is a complete Vectra index file (`index.json`): Vectra's own `LocalIndex` can
 * open it and answer `queryItems`. Two choices keep it small and safe:
 * - vectors are stored as int8-scaled integers; cosine similarity ignores scale, so Vectra's
 *   ranking still works, and each dimension costs ~4 bytes of JSON instead of ~20;
 * - the shard also carries the state of its files (`nearby.files`), so one atomic rename commits
 *   a file's chunks and its state together. Vectra ignores the extra key.
 */
export interface ShardContents {
  modelId: string;
  dimension: number;
  files: Map<string, ShardFile>;
}

export interface ShardFile {
  state: FileState;
  chunks: StoredChunk[];
  /** One unit vector per chunk, in order. */
  vectors: Float32Array[];
}

interface VectraItem {
  id: string;
  metadata: Record<string, string | number>;
  vector: number[];
  norm: number;
}

interface ShardJson {
  version: number;
  metadata_config: Record<string, unknown>;
  items: VectraItem[];
  nearby?: { modelId: string; dimension: number; files: Record<string, [number, number]> };
}

export function encodeShard(contents: ShardContents): string {
  const files: Record<string, [number, number]> = {};
  const items: string[] = [];
  for (const [path, file] of contents.files) {
    files[path] = [file.state.mtimeMs, file.state.size];
    file.chunks.forEach((chunk, i) => {
      const { ints, norm } = quantize(file.vectors[i]!);
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
      items.push(`{"id":${JSON.stringify(id)},"metadata":${JSON.stringify(metadata)},"vector":[${ints.join(',')}],"norm":${norm}}`);
    });
  }
  const nearby = JSON.stringify({ modelId: contents.modelId, dimension: contents.dimension, files });
  return `{"version":1,"metadata_config":{},"items":[${items.join(',')}],"nearby":${nearby}}`;
}

/** Parses a shard; throws on anything malformed so the caller can discard the shard as a whole. */
export function decodeShard(json: string): ShardContents {
  const data = JSON.parse(json) as ShardJson;
  if (!data.nearby || !Array.isArray(data.items)) throw new Error('not a Nearby shard (no "nearby" section)');
  const { modelId, dimension } = data.nearby;
  const files = new Map<string, ShardFile>();
  for (const [path, [mtimeMs, size]] of Object.entries(data.nearby.files)) {
    files.set(path, { state: { mtimeMs, size }, chunks: [], vectors: [] });
  }
  for (const item of data.items) {
    const m = item.metadata;
    const file = files.get(String(m['path']));
    if (!file) throw new Error(`item ${item.id} belongs to no file`);
    if (item.vector.length !== dimension) throw new Error(`item ${item.id} has ${item.vector.length} dimensions, expected ${dimension}`);
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
    file.vectors.push(dequantize(item.vector, item.norm));
  }
  return { modelId, dimension, files };
}

function quantize(v: Float32Array): { ints: Int8Array; norm: number } {
  let maxAbs = 0;
  for (let i = 0; i < v.length; i++) maxAbs = Math.max(maxAbs, Math.abs(v[i]!));
  const scale = maxAbs > 0 ? 127 / maxAbs : 0;
  const ints = new Int8Array(v.length);
  let sum = 0;
  for (let i = 0; i < v.length; i++) {
    ints[i] = Math.round(v[i]! * scale);
    sum += ints[i]! * ints[i]!;
  }
  return { ints, norm: Math.sqrt(sum) };
}

function dequantize(ints: readonly number[], norm: number): Float32Array {
  const v = new Float32Array(ints.length);
  const inv = norm > 0 ? 1 / norm : 0;
  for (let i = 0; i < ints.length; i++) v[i] = ints[i]! * inv;
  return v;
}
