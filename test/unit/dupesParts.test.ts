import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { EdgeGraph, starClusters } from '../../src/core/dupes/cluster';
import { eligibleChunks } from '../../src/core/dupes/dupeIndex';
import { SemanticIndex } from '../../src/core/dupes/semantic';
import { TextualIndex } from '../../src/core/dupes/textual';
import { NORM_IDENTIFIER, NORM_STRING, tokenize } from '../../src/core/dupes/tokenize';
import type { StoredChunk } from '../../src/core/store/records';
import { isHostMessage } from '../../src/worker/protocol';
import { randomUnitVectors } from '../helpers/vectors';

const FUNCTION = `function mergeSettings(defaults, overrides) {
  const result = { ...defaults };
  for (const key of Object.keys(overrides)) {
    const value = overrides[key];
    if (value === undefined || value === null) {
      continue;
    }
    if (typeof value === 'object' && !Array.isArray(value)) {
      result[key] = mergeSettings(result[key] ?? {}, value);
    } else {
      result[key] = value;
    }
  }
  return result;
}
`;

/** The same function with every name changed, reformatted, and re-commented. */
const RENAMED = `// Deep merge, later wins.
function combine(base, extra) {
  const out = { ...base };
  for (const k of Object.keys(extra)) {
    const v = extra[k];
    if (v === undefined || v === null) { continue; }
    if (typeof v === 'object' && !Array.isArray(v)) {
      out[k] = combine(out[k] ?? {}, v); // recurse
    } else {
      out[k] = v;
    }
  }
  return out;
}
`;

function pairsOf(files: Record<string, string>, options = { minTokens: 50, minLines: 5 }) {
  const index = new TextualIndex(options);
  for (const [p, text] of Object.entries(files)) index.add(p, tokenize(text, 'javascript'));
  index.findPairs(Object.keys(files));
  return [...index.allPairs()];
}

describe('tokenizer', () => {
  test('comments and layout are dropped, names and literals normalized, lines kept', () => {
    const t = tokenize("const a = 'x'; // note\n/* block\n */ let b = a + 1;\n", 'javascript');
    assert.equal(t.norm.length, 12);
    assert.equal(t.norm[1], NORM_IDENTIFIER);
    assert.equal(t.norm[3], NORM_STRING);
    assert.deepEqual([...t.line], [1, 1, 1, 1, 1, 3, 3, 3, 3, 3, 3, 3]);
  });

  test('a regular expression is one literal, a division is not', () => {
    const regex = tokenize('const re = /a[/]b/g;', 'javascript');
    const division = tokenize('const half = total / 2 / count;', 'javascript');
    assert.equal(regex.norm.length, 5);
    assert.equal(division.norm.length, 9);
  });

  test('import statements are flagged on every line they span, exports of definitions are not', () => {
    const t = tokenize("import {\n  a,\n  b,\n} from './x';\nexport function f() {\n  return a;\n}\n", 'typescript');
    assert.deepEqual([1, 2, 3, 4, 5, 6].map((l) => t.importLines[l]), [1, 1, 1, 1, 0, 0]);
  });
});

describe('textual clones', () => {
  test('a renamed, reformatted copy inside a larger function is found with its own lines', () => {
    const host = `export function setup(app) {\n  app.init();\n  ${FUNCTION.split('\n').join('\n  ')}\n  app.start();\n}\n`;
    const pairs = pairsOf({ 'a.js': FUNCTION, 'b.js': host.replace(FUNCTION.split('\n')[0]!, RENAMED.split('\n')[1]!) });
    assert.equal(pairs.length, 1, JSON.stringify(pairs));
    const [pair] = pairs;
    const inB = pair!.a.path === 'b.js' ? pair!.a : pair!.b;
    const inA = pair!.a.path === 'a.js' ? pair!.a : pair!.b;
    assert.deepEqual([inA.startLine, inA.endLine], [1, 15]);
    assert.ok(inB.startLine >= 3 && inB.endLine <= 17, JSON.stringify(inB));
  });

  test('renaming every identifier still matches; similarity says it is not verbatim', () => {
    const [pair] = pairsOf({ 'a.js': FUNCTION, 'b.js': RENAMED });
    assert.ok(pair);
    assert.ok(pair.similarity < 1 && pair.similarity > 0.4, String(pair.similarity));
    assert.equal(pairsOf({ 'a.js': FUNCTION, 'c.js': FUNCTION })[0]!.similarity, 1);
  });

  test('too small a copy is not a clone', () => {
    const small = 'function add(a, b) {\n  return a + b;\n}\n';
    assert.deepEqual(pairsOf({ 'a.js': small, 'b.js': small }), []);
  });

  test('a table of renamed, repeated entries is not a clone of itself', () => {
    const rows = Array.from({ length: 40 }, (_, i) => `  register('name${i}', handler${i}, { retries: ${i} });`).join('\n');
    assert.deepEqual(pairsOf({ 'table.js': `function setup() {\n${rows}\n}\n` }), []);
  });

  test('two adjacent identical functions in one file are one pair of whole functions', () => {
    const pairs = pairsOf({ 'twice.js': FUNCTION + FUNCTION.replace('mergeSettings', 'mergeOptions').replace('mergeSettings', 'mergeOptions') });
    assert.equal(pairs.length, 1);
    const lines = [pairs[0]!.a, pairs[0]!.b].map((f) => [f.startLine, f.endLine]).sort((x, y) => x[0]! - y[0]!);
    assert.deepEqual(lines, [[1, 15], [16, 30]]);
  });
});

/** A function whose names are all `name(i)`: two fillings share its shape and nothing else. */
const ENDPOINT = (n: (i: number) => string) => `export function ${n(0)}(client, params) {
  const query = ${n(1)}(${n(24)}.${n(2)}, ${n(25)}.${n(12)});
  if (params.${n(3)}) query.${n(13)} = params.${n(14)};
  const response = client.${n(15)}(${n(20)}, ${n(4)}, { query, ${n(16)}: ${n(21)} });
  for (const item of response.${n(5)}) ${n(6)}(item, params.${n(7)}, ${n(23)});
  while (${n(26)}.${n(8)}) ${n(27)}.${n(9)} = ${n(28)}.${n(17)}(${n(29)});
  return { ${n(18)}: response.${n(10)}, ${n(19)}: response.${n(11)} ?? ${n(22)} };
}
`;

/** Code, then the list of names an entry module re-exports. */
const ENTRY = (name: string, extra: string) => `export class ${name} extends Core {
  defaultMeta() {
    const meta = super.defaultMeta();
    if (meta !== undefined) return meta;
    return this.getSchema(META_SCHEMA_ID) ? META_SCHEMA_ID : undefined;
  }
}

module.exports = exports = ${name};
Object.defineProperty(exports, "__esModule", { value: true });

export {
${['Format', 'FormatDefinition', 'KeywordDefinition', 'Vocabulary', 'Schema', 'SchemaObject', 'AnySchema', 'ValidateFunction', 'ErrorObject', extra].map((n) => `  ${n},`).join('\n')}
} from "./types";
export { Plugin, Options, CodeOptions, Logger } from "./core";
export { SchemaCxt, SchemaObjCxt } from "./compile";
export { KeywordCxt } from "./compile/validate";
export { default as ValidationError } from "./runtime/validation_error";
`;

describe('what counts as a copy', () => {
  test('code of one shape whose every difference is a new name is not a clone; a copy renamed consistently is', () => {
    // 73% of the tokens are the same in both fillings, each difference a name seen once.
    assert.deepEqual(pairsOf({ 'alpha.js': ENDPOINT((i) => `alpha${i}`), 'beta.js': ENDPOINT((i) => `beta${i}`) }), []);
    // Fewer identical tokens (76%), but every name changed the same way wherever it occurs.
    const [renamed] = pairsOf({ 'a.js': FUNCTION, 'b.js': RENAMED });
    assert.ok(renamed && renamed.similarity < 0.77, String(renamed?.similarity));
  });

  test("an entry module's closing list of re-exports is judged apart from the code before it", () => {
    const pairs = pairsOf({ 'ajv.ts': ENTRY('Ajv', 'SchemaValidateFunction'), 'jtd.ts': ENTRY('Ajv', 'JTDParser') });
    const spans = pairs.map((p) => [p.a.startLine, p.a.endLine, p.b.startLine, p.b.endLine]).sort((x, y) => x[0]! - y[0]!);
    // The class and its module lines (verbatim), then the list (one name differs: 95% the same).
    assert.deepEqual(spans, [[1, 10], [12, 27]].map(([s, e]) => [s, e, s, e]), JSON.stringify(pairs));
  });
});

describe('chunks compared by meaning', () => {
  test('chunks that do something are compared; tables and declarations, alike whenever their shapes are, are not', () => {
    const table = `export const COOKIE_FIELDS = [\n${['name', 'value', 'domain', 'path', 'secure', 'httpOnly'].map((k) => `  { key: '${k}', converter: converters.${k}, defaultValue: () => null },`).join('\n')}\n];\n`;
    const text = `${table}\n${FUNCTION}`;
    const tokens = tokenize(text, 'javascript');
    const functionStart = table.split('\n').length + 1;
    const chunks: StoredChunk[] = [
      { path: 'm.js', startLine: 1, endLine: functionStart - 2, language: 'javascript', kind: 'code', hash: 'table' },
      { path: 'm.js', startLine: functionStart, endLine: functionStart + 14, language: 'javascript', kind: 'code', hash: 'function' },
    ];
    const source = { chunksOf: () => chunks, vectorFor: () => new Float32Array([1, 0]) };
    assert.deepEqual(eligibleChunks('m.js', tokens, source, { minLines: 5, minTokens: 50 }).map((c) => c.startLine), [functionStart]);
  });
});

describe('clustering', () => {
  test('a chain A~B~C~D is not one class: every member is similar to its centre', () => {
    const graph = new EdgeGraph();
    graph.addEdge('A', 'B', 0.9);
    graph.addEdge('B', 'C', 0.9);
    graph.addEdge('C', 'D', 0.9);
    const stars = starClusters(graph, ['A', 'B', 'C', 'D']);
    for (const s of stars) for (const m of s.members.keys()) assert.ok(graph.neighbours(s.center)!.has(m));
    assert.ok(!stars.some((s) => new Set([s.center, ...s.members.keys()]).has('A') && new Set([s.center, ...s.members.keys()]).has('D')));
    // Every similar pair still appears together somewhere.
    for (const [a, b] of [['A', 'B'], ['B', 'C'], ['C', 'D']]) {
      assert.ok(stars.some((s) => [s.center, ...s.members.keys()].includes(a!) && [s.center, ...s.members.keys()].includes(b!)), `${a}-${b}`);
    }
  });

  test('a clique is one class around one centre', () => {
    const graph = new EdgeGraph();
    for (const [a, b] of [['A', 'B'], ['A', 'C'], ['B', 'C'], ['A', 'D'], ['B', 'D'], ['C', 'D']]) graph.addEdge(a!, b!, 0.95);
    const stars = starClusters(graph, ['A', 'B', 'C', 'D']);
    assert.equal(stars.length, 1);
    assert.equal(stars[0]!.members.size, 3);
  });
});

describe('semantic candidates', () => {
  test('LSH finds the planted near-duplicates among random vectors, and only pairs above the threshold', () => {
    const base = randomUnitVectors(2000, 64, 3);
    const noise = randomUnitVectors(20, 64, 4);
    const chunks = base.map((vector, i) => ({ path: `f${i}.ts`, startLine: 1, endLine: 10, vector }));
    // Twenty copies at cosine ~0.98 of the first twenty vectors.
    for (let i = 0; i < 20; i++) {
      const v = base[i]!.map((x, d) => x + 0.2 * noise[i]![d]!);
      const norm = Math.hypot(...v);
      chunks.push({ path: `copy${i}.ts`, startLine: 1, endLine: 10, vector: v.map((x) => x / norm) });
    }
    const index = new SemanticIndex(64, 0.9);
    index.add(chunks);
    const pairs = index.pairsFor(chunks.map((c) => c.path), () => true);
    const found = new Set(pairs.map((p) => [p.a, p.b].sort().join(' ')));
    for (let i = 0; i < 20; i++) assert.ok(found.has([`copy${i}.ts#1-10`, `f${i}.ts#1-10`].sort().join(' ')), `copy ${i} missed`);
    assert.equal(pairs.length, 20);
    assert.ok(pairs.every((p) => p.similarity >= 0.9));
  });
});

describe('dupes request validation', () => {
  test('well-formed requests pass', () => {
    assert.ok(isHostMessage({ type: 'dupes', id: 1 }));
    assert.ok(isHostMessage({ type: 'dupes', id: 2, root: '/r', minLines: 6, minTokens: 40, threshold: 0.9, kinds: ['semantic'], limit: 5 }));
  });

  test('bad thresholds, sizes and kinds are rejected', () => {
    for (const bad of [{ threshold: 0 }, { threshold: 1.5 }, { threshold: '0.9' }, { minLines: 0 }, { minTokens: 2.5 }, { kinds: ['fuzzy'] }, { root: 3 }, { limit: -1 }]) {
      assert.equal(isHostMessage({ type: 'dupes', id: 3, ...bad }), false, JSON.stringify(bad));
    }
  });
});
