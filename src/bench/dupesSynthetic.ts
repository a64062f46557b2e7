/**
 * A synthetic workspace for timing near-duplicate detection at a scale no real package here
 * reaches: generated JavaScript functions (one chunk each) with planted renamed copies, and random
 * unit vectors with planted near-duplicate pairs.
 */
import { seededRandom } from '../core/random';
import type { StoredChunk } from '../core/store/records';
import type { DupeSource } from '../core/dupes/types';

export interface SyntheticWorkspace {
  source: DupeSource;
  chunks: number;
  files: number;
  /** Planted textual copies: [original chunk key, copy chunk key]. */
  textualPlants: [string, string][];
  /** Planted semantic pairs: [chunk key, chunk key]. */
  semanticPlants: [string, string][];
  /** Rewrites one function of one file (a new version of it), as an editor save would. */
  editOneFile(): string;
}

const WORDS = ['user', 'order', 'item', 'price', 'cache', 'queue', 'token', 'node', 'record', 'buffer', 'event', 'path', 'config', 'result', 'count', 'index', 'value', 'entry', 'batch', 'limit', 'state', 'frame', 'shard', 'owner'];
const VERBS = ['load', 'save', 'merge', 'check', 'build', 'parse', 'apply', 'flush', 'update', 'render', 'resolve', 'collect'];

export function syntheticWorkspace(chunkCount: number, dimension: number, seed = 11): SyntheticWorkspace {
  const rnd = seededRandom(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const name = () => `${pick(WORDS)}${Math.floor(rnd() * 1000)}`;
  const functionsPerFile = 20;
  const files = new Map<string, { text: string; chunks: StoredChunk[]; version: number }>();
  const vectors = new Map<string, Float32Array>();
  const bodies: { key: string; lines: string[] }[] = [];
  const recentKeys: string[] = [];
  const textualPlants: [string, string][] = [];
  const semanticPlants: [string, string][] = [];

  const OPS = ['+', '-', '*', '/', '%', '&&', '||', '??', '===', '!==', '<', '>', '<=', '>=', '<<', '|', '&'];
  const expr = (depth = 0): string => {
    switch (Math.floor(rnd() * (depth > 1 ? 4 : 8))) {
      case 0:
        return name();
      case 1:
        return String(Math.floor(rnd() * 100));
      case 2:
        return `'${pick(WORDS)}'`;
      case 3:
        return `${name()}.${pick(WORDS)}`;
      case 4:
        return `${expr(depth + 1)} ${pick(OPS)} ${expr(depth + 1)}`;
      case 5:
        return `${name()}.${pick(VERBS)}(${Array.from({ length: Math.floor(rnd() * 3) }, () => expr(depth + 1)).join(', ')})`;
      case 6:
        return `[${Array.from({ length: 1 + Math.floor(rnd() * 3) }, () => expr(depth + 1)).join(', ')}]`;
      default:
        return `(${expr(depth + 1)} ? ${expr(depth + 1)} : ${expr(depth + 1)})`;
    }
  };
  const statement = (indent: string, depth: number): string[] => {
    switch (Math.floor(rnd() * (depth > 1 ? 5 : 9))) {
      case 0:
        return [`${indent}const ${name()} = ${expr()};`];
      case 1:
        return [`${indent}let ${name()} = ${expr()};`];
      case 2:
        return [`${indent}${name()} ${pick(['=', '+=', '-=', '||=', '??='])} ${expr()};`];
      case 3:
        return [`${indent}${name()}.${pick(VERBS)}(${expr()});`];
      case 4:
        return [`${indent}if (${expr()}) return ${expr()};`];
      case 5:
        return [`${indent}if (${expr()}) {`, ...block(indent + '  ', depth + 1), `${indent}}`];
      case 6:
        return [`${indent}for (const ${name()} of ${expr()}) {`, ...block(indent + '  ', depth + 1), `${indent}}`];
      case 7:
        return [`${indent}while (${expr()}) {`, ...block(indent + '  ', depth + 1), `${indent}}`];
      default:
        return [`${indent}try {`, ...block(indent + '  ', depth + 1), `${indent}} catch (${name()}) {`, ...block(indent + '  ', depth + 1), `${indent}}`];
    }
  };
  const block = (indent: string, depth: number): string[] => Array.from({ length: 1 + Math.floor(rnd() * 3) }, () => statement(indent, depth)).flat();
  const makeFunction = (): string[] => {
    const lines = [`export function ${pick(VERBS)}${name()}(${name()}, ${name()}) {`];
    const statements = 3 + Math.floor(rnd() * 6);
    for (let i = 0; i < statements; i++) lines.push(...statement('  ', 0));
    lines.push(`  return ${expr()};`, '}');
    return lines;
  };

  const renameAll = (lines: string[]): string[] => {
    const map = new Map<string, string>();
    return lines.map((l) => l.replace(/\b([a-z]+\d+)\b/g, (w) => map.get(w) ?? (map.set(w, name()), map.get(w)!)));
  };

  const fileCount = Math.ceil(chunkCount / functionsPerFile);
  let made = 0;
  for (let f = 0; f < fileCount; f++) {
    const path = `src/module${String(f).padStart(5, '0')}/part.js`;
    const chunks: StoredChunk[] = [];
    const text: string[] = [];
    for (let i = 0; i < functionsPerFile && made < chunkCount; i++, made++) {
      // 3% of functions are renamed copies of an earlier one, somewhere else.
      const copyOf = bodies.length > 100 && rnd() < 0.03 ? bodies[Math.floor(rnd() * bodies.length)] : undefined;
      const lines = copyOf ? renameAll(copyOf.lines) : makeFunction();
      const start = text.length + 1;
      text.push(...lines, '');
      const chunk: StoredChunk = { path, startLine: start, endLine: start + lines.length - 1, language: 'javascript', kind: 'code', hash: `${path}:${start}` };
      chunks.push(chunk);
      const key = `${path}#${chunk.startLine}-${chunk.endLine}`;
      let vector = randomUnit(dimension, rnd);
      // 1% of chunks are given a vector at cosine ~0.95 of an earlier chunk's: semantic plants.
      if (!copyOf && made > 100 && rnd() < 0.01) {
        const other = pick(recentKeys);
        vector = nearby(vectors.get(other)!, 0.33, rnd);
        semanticPlants.push([other, key]);
      }
      vectors.set(key, vector);
      recentKeys.push(key);
      if (recentKeys.length > 500) recentKeys.shift();
      if (copyOf) textualPlants.push([copyOf.key, key]);
      bodies.push({ key, lines });
    }
    files.set(path, { text: text.join('\n'), chunks, version: 1 });
  }

  const source: DupeSource = {
    paths: () => files.keys(),
    fileState: (p) => {
      const f = files.get(p);
      return f ? { mtimeMs: f.version, size: f.text.length } : undefined;
    },
    chunksOf: (p) => files.get(p)?.chunks ?? [],
    vectorFor: (hash) => {
      const [p, start] = hash.split(':');
      const chunk = files.get(p!)?.chunks.find((c) => c.startLine === Number(start));
      return chunk ? vectors.get(`${chunk.path}#${chunk.startLine}-${chunk.endLine}`) : undefined;
    },
    readText: async (p) => files.get(p)?.text,
  };

  return {
    source,
    chunks: made,
    files: files.size,
    textualPlants,
    semanticPlants,
    editOneFile() {
      const [path, file] = [...files.entries()][Math.floor(files.size / 2)]!;
      const lines = file.text.split('\n');
      const target = file.chunks[3]!;
      lines[target.startLine] = `  const extra${file.version} = [];`;
      file.text = lines.join('\n');
      file.version++;
      return path;
    },
  };
}


function randomUnit(dimension: number, rnd: () => number): Float32Array {
  const v = new Float32Array(dimension);
  for (let i = 0; i < dimension; i++) v[i] = rnd() - 0.5;
  return normalize(v);
}

/** A unit vector near `v`: v plus noise of relative size `spread`. */
function nearby(v: Float32Array, spread: number, rnd: () => number): Float32Array {
  const noise = randomUnit(v.length, rnd);
  return normalize(v.map((x, i) => x + spread * noise[i]!));
}

function normalize(v: Float32Array): Float32Array {
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
}
