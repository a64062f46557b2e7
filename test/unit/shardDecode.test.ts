import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { IndexStore } from '../../src/core/store/indexStore';
import { assembleDigitsModule, createVectorDigits, type VectorDigits } from '../../src/core/store/vectorDigits';
import { tempTree } from '../helpers/tempTree';
import { randomUnitVectors } from '../helpers/vectors';

/** Puts `text` in the reader and reads one vector of `count` values from its start. */
function readOne(digits: VectorDigits, text: string, count: number): { end: number; values: number[]; sums: number[] } {
  const bytes = Buffer.from(text);
  bytes.copy(digits.input(bytes.length));
  digits.reserve(1, count);
  const end = digits.read(0, bytes.length, 0, count);
  return { end, values: [...digits.vectors().subarray(0, count)], sums: [...digits.sums().subarray(0, 2)] };
}

const readers = () => [createVectorDigits(true), createVectorDigits(false)];

describe('vector digits', () => {
  test('the SIMD module is valid WebAssembly and in use here', () => {
    const wasm = (globalThis as unknown as { WebAssembly: { validate(b: Uint8Array): boolean } }).WebAssembly;
    assert.ok(wasm.validate(assembleDigitsModule()));
    assert.equal(createVectorDigits().simd, true);
    assert.equal(createVectorDigits(false).simd, false);
  });

  test('both readers read every int8 value, sign and width, with their sums', () => {
    const values = Array.from({ length: 255 }, (_, i) => i - 127);
    const text = `${values.join(',')}],"norm":1}`;
    for (const digits of readers()) {
      const got = readOne(digits, text, values.length);
      assert.deepEqual(got.values, values, `simd=${digits.simd}`);
      assert.equal(got.end, text.indexOf(']') + 1);
      assert.deepEqual(got.sums, [values.reduce((a, v) => a + Math.abs(v), 0), values.reduce((a, v) => a + v * v, 0)]);
    }
  });

  test('both readers agree on random vectors in consecutive items', () => {
    const dims = [1, 7, 16, 17, 384];
    for (const d of dims) {
      const vs = randomUnitVectors(50, d, d).map((v) => Array.from(v, (x) => Math.round((x * 127) / Math.max(...v.map(Math.abs))) + 0));
      const text = vs.map((v) => `[${v.join(',')}]`).join(',');
      const results = readers().map((digits) => {
        const bytes = Buffer.from(text);
        bytes.copy(digits.input(bytes.length));
        digits.reserve(vs.length, d);
        let p = 1;
        for (let i = 0; i < vs.length; i++) {
          p = digits.read(p, bytes.length, i, d);
          assert.ok(p > 0, `simd=${digits.simd} d=${d} item ${i}`);
          p += 2; // ",["
        }
        return [...digits.vectors().subarray(0, vs.length * d)];
      });
      assert.deepEqual(results[0], vs.flat(), `d=${d}`);
      assert.deepEqual(results[1], vs.flat(), `d=${d}`);
    }
  });

  test('anything but exactly `count` values in -127..127 closed by ] is refused', () => {
    const bad = ['1,2]', '1,2,3,4]', '1,2,3,', '128,1,1]', '-128,1,1]', '1,,1]', ',1,1]', '1,1111,1]', '-,1,1]', '1 ,1,1]', 'a,1,1]', '1,2]3]', '1,-2-,3]', '1.5,1,1]', '+1,1,1]', '1,2,3'];
    for (const digits of readers()) {
      for (const text of bad) assert.equal(readOne(digits, `${text}${' '.repeat(40)}`, 3).end, -1, `simd=${digits.simd}: ${text}`);
      assert.equal(readOne(digits, '1,-2,3]', 3).end, 7);
    }
  });
});

describe('shard decoding', () => {
  const identity = { modelId: 'test-model', dimension: 24, chunkerVersion: 1 };

  test('a shard in another layout (pretty-printed, items of a file apart) loads the same as Nearby writes it', async () => {
    const t = tempTree();
    try {
      const vs = randomUnitVectors(12, 24, 5);
      const { store } = await IndexStore.open(t.root, identity, 1);
      for (let f = 0; f < 4; f++) {
        const p = `src/ünï ${f}/"q".py`; // escapes and non-ASCII in paths take the careful string path
        store.putFile(p, { mtimeMs: f, size: 10 * f }, [0, 1, 2].map((i) => ({ path: p, startLine: i * 5 + 1, endLine: i * 5 + 4, language: 'python', kind: 'code' as const, hash: `h${f}-${i}`, ...(i === 1 ? { symbol: 'fn' } : {}) })), vs.slice(f * 3, f * 3 + 3));
      }
      await store.close();
      const before = await IndexStore.open(t.root, identity, 1);
      const query = randomUnitVectors(1, 24, 9)[0]!;
      const expected = before.store.search(query, 12);
      assert.equal(expected.length, 12);

      const file = path.join(t.root, 'shards', readdirSync(path.join(t.root, 'shards'))[0]!, 'index.json');
      const json = JSON.parse(readFileSync(file, 'utf8')) as { items: unknown[] };
      json.items = [...json.items.filter((_, i) => i % 2 === 0), ...json.items.filter((_, i) => i % 2 === 1)];
      writeFileSync(file, JSON.stringify(json, null, 1));
      const after = await IndexStore.open(t.root, identity, 1);
      assert.deepEqual(after.droppedShards, []);
      assert.deepEqual(after.store.search(query, 12), expected);
      assert.deepEqual(after.store.fileState('src/ünï 2/"q".py'), { mtimeMs: 2, size: 20 });
    } finally {
      t.dispose();
    }
  });

  test('a shard cut short or with a damaged vector is dropped, not half-read', async () => {
    const t = tempTree();
    try {
      const { store } = await IndexStore.open(t.root, identity, 1);
      const vs = randomUnitVectors(20, 24, 2);
      for (let f = 0; f < 20; f++) store.putFile(`f${f}.py`, { mtimeMs: 0, size: 0 }, [{ path: `f${f}.py`, startLine: 1, endLine: 2, language: 'python', kind: 'code', hash: `h${f}` }], [vs[f]!]);
      await store.close();
      const file = path.join(t.root, 'shards', 'shard-000', 'index.json');
      const good = readFileSync(file);
      const at = good.indexOf('"vector":[') + 12;
      for (const damaged of [good.subarray(0, good.length - 40), Buffer.concat([good.subarray(0, at), Buffer.from('x'), good.subarray(at + 1)])]) {
        writeFileSync(file, damaged);
        const reopened = await IndexStore.open(t.root, identity, 1);
        assert.equal(reopened.droppedShards.length, 1);
        assert.equal(reopened.store.chunkCount, 0);
      }
    } finally {
      t.dispose();
    }
  });
});
