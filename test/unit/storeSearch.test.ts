import assert from 'node:assert/strict';
import { readdirSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { assembleDotModule, createDotKernel } from '../../src/core/store/dotKernel';
import { IndexStore } from '../../src/core/store/indexStore';
import type { ScoredChunk, SearchFilter, StoredChunk } from '../../src/core/store/records';
import { byPlace, compileFilter } from '../../src/core/store/vectorTable';
import { tempTree } from '../helpers/tempTree';
import { randomUnitVectors } from '../helpers/vectors';

const DIM = 384;
const identity = { modelId: 'test-model', dimension: DIM, chunkerVersion: 1 };

function chunkOf(f: number, i: number): StoredChunk {
  const p = f % 3 === 0 ? `docs/guide${f}.md` : `src/pkg${f % 5}/file${f}.${f % 2 ? 'py' : 'ts'}`;
  return { path: p, startLine: i * 10 + 1, endLine: i * 10 + 12, language: p.endsWith('.md') ? 'markdown' : p.endsWith('.py') ? 'python' : 'typescript', kind: p.endsWith('.md') ? 'doc' : 'code', hash: `h${f}-${i}` };
}

/** Brute force: every stored float32 vector, dot product in float64, sorted. */
function bruteForce(store: IndexStore, q: Float32Array, k: number, filter: SearchFilter = {}): { hash: string; score: number }[] {
  const accept = compileFilter(filter) ?? (() => true);
  const all: { hash: string; score: number; c: StoredChunk }[] = [];
  for (const p of store.paths()) {
    for (const c of store.chunksOf(p)) {
      if (!accept(c)) continue;
      const v = store.vectorFor(c.hash)!;
      let s = 0;
      for (let j = 0; j < v.length; j++) s += q[j]! * v[j]!;
      all.push({ hash: c.hash, score: s, c });
    }
  }
  return all.sort((a, b) => b.score - a.score || byPlace(a.c, b.c)).slice(0, k).map(({ hash, score }) => ({ hash, score }));
}

const pick = (hits: ScoredChunk[]) => hits.map((h) => ({ hash: h.hash, score: h.score }));

describe('fast exact top-k', () => {
  test('the SIMD kernel computes the same integer dot products as plain JavaScript', () => {
    const wasm = (globalThis as unknown as { WebAssembly: { validate(bytes: Uint8Array): boolean } }).WebAssembly;
    assert.ok(wasm.validate(assembleDotModule()), 'the hand-assembled module is valid WebAssembly');
    const kernel = createDotKernel(100);
    assert.ok(kernel.simd, 'Node 20 runs WebAssembly SIMD');
    assert.equal(kernel.stride, 112);
    kernel.reserve(300);
    const m = kernel.matrix();
    let s = 7;
    const next = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) % 255) - 127;
    for (let r = 0; r < 300; r++) for (let j = 0; j < 100; j++) m[r * kernel.stride + j] = next();
    const q = kernel.query();
    for (let j = 0; j < 100; j++) q[j] = next() * 258; // up to ±32766
    const got = Array.from(kernel.run(300));
    for (let r = 0; r < 300; r++) {
      let want = 0;
      for (let j = 0; j < 100; j++) want += q[j]! * m[r * kernel.stride + j]!;
      assert.equal(got[r], want, `row ${r}`);
    }
  });

  test('top-k equals brute force over the stored float32 vectors, with and without filters, after changes', async () => {
    const t = tempTree();
    try {
      const files = 600;
      const vs = randomUnitVectors(files * 10, DIM, 11);
      const { store } = await IndexStore.open(t.root, identity, 8);
      for (let f = 0; f < files; f++) {
        store.putFile(chunkOf(f, 0).path, { mtimeMs: f, size: f }, Array.from({ length: 10 }, (_, i) => chunkOf(f, i)), vs.slice(f * 10, f * 10 + 10));
      }
      // Near-duplicates of stored vectors make the top of the ranking tight, where rounding would show.
      const queries = [...randomUnitVectors(20, DIM, 12), ...vs.slice(100, 110).map((v, i) => v.map((x, j) => x + (j === i ? 1e-4 : 0)))];
      const filters: SearchFilter[] = [{}, { kind: 'doc' }, { languages: ['python'] }, { pathGlob: 'src/pkg1/**' }, { pathGlob: '*.ts' }, { excludeRange: { path: chunkOf(10, 0).path, startLine: 1, endLine: 30 } }];
      const check = () => {
        for (const q of queries) {
          for (const filter of filters) {
            for (const k of [1, 10, 50]) assert.deepEqual(pick(store.search(q, k, filter)), bruteForce(store, q, k, filter), JSON.stringify({ filter, k }));
          }
        }
      };
      check();
      // The first query again, so the scan kept for it is the one a stale cache would reuse after the changes.
      store.search(queries[0]!, 10);
      // Replace, remove and add: rows are reused in place.
      for (let f = 0; f < 50; f++) store.putFile(chunkOf(f, 0).path, { mtimeMs: -1, size: 0 }, [chunkOf(f, 0)], [vs[vs.length - 1 - f]!]);
      for (let f = 50; f < 80; f++) store.removeFile(chunkOf(f, 0).path);
      await store.flush();
      for (let f = files; f < files + 40; f++) store.putFile(chunkOf(f, 0).path, { mtimeMs: f, size: f }, [chunkOf(f, 0), chunkOf(f, 1)], randomUnitVectors(2, DIM, f));
      assert.equal(store.chunkCount, 10 * (files - 80) + 50 + 80);
      check();
      // And the same again from disk.
      await store.flush();
      const reopened = (await IndexStore.open(t.root, identity, 8)).store;
      assert.equal(reopened.chunkCount, store.chunkCount);
      for (const q of queries.slice(0, 5)) assert.deepEqual(pick(reopened.search(q, 10)), pick(store.search(q, 10)));
    } finally {
      t.dispose();
    }
  });

  test('vectors are stored int8-scaled, identical in memory and after a reload', async () => {
    const t = tempTree();
    try {
      const [v] = randomUnitVectors(1, DIM, 5);
      const { store } = await IndexStore.open(t.root, identity, 2);
      store.putFile('a.ts', { mtimeMs: 1, size: 1 }, [{ ...chunkOf(1, 0), path: 'a.ts' }], [v!]);
      const before = store.vectorFor('h1-0')!;
      let cos = 0;
      for (let j = 0; j < DIM; j++) cos += before[j]! * v![j]!;
      assert.ok(cos > 0.9999, `int8 keeps the direction: cos ${cos}`);
      await store.flush();
      const after = (await IndexStore.open(t.root, identity, 2)).store.vectorFor('h1-0')!;
      assert.deepEqual(Array.from(after), Array.from(before));
      // Storing a stored vector again (a renamed file) does not drift.
      store.putFile('b.ts', { mtimeMs: 1, size: 1 }, [{ ...chunkOf(1, 0), path: 'b.ts', hash: 'again' }], [before]);
      assert.deepEqual(Array.from(store.vectorFor('again')!), Array.from(before));
    } finally {
      t.dispose();
    }
  });
});

describe('freshness', () => {
  test('a changed file is searchable at once and written in the background by a writer', async () => {
    const t = tempTree();
    try {
      const vs = randomUnitVectors(2000, DIM, 21);
      const { store } = await IndexStore.open(t.root, identity, { shardCount: 8, flushDelayMs: 50 });
      for (let f = 0; f < 200; f++) store.putFile(chunkOf(f, 0).path, { mtimeMs: f, size: f }, Array.from({ length: 10 }, (_, i) => chunkOf(f, i)), vs.slice(f * 10, f * 10 + 10));
      await store.flush();
      const shardFiles = () => readdirSync(path.join(t.root, 'shards')).map((d) => statSync(path.join(t.root, 'shards', d, 'index.json')).mtimeMs);
      const written = shardFiles();

      const fresh = randomUnitVectors(10, DIM, 99);
      const target = chunkOf(7, 0).path;
      store.putFile(target, { mtimeMs: 1e6, size: 1 }, fresh.map((_, i) => ({ ...chunkOf(7, i), hash: `new-${i}` })), fresh);
      assert.equal(store.search(fresh[3]!, 1)[0]!.hash, 'new-3', 'visible to the very next query');
      assert.ok(store.search(vs[70]!, 5).every((h) => !h.hash.startsWith('h7-')), 'the old chunks are gone');
      assert.ok(store.hasUnsavedChanges);

      // No flush call: the debounced background write lands by itself, rewriting only one shard.
      for (let i = 0; i < 200 && store.hasUnsavedChanges; i++) await new Promise((r) => setTimeout(r, 25));
      assert.ok(!store.hasUnsavedChanges, 'written in the background');
      const now = shardFiles();
      assert.equal(now.filter((m, i) => m !== written[i]).length, 1, 'one shard rewritten');
      const reopened = (await IndexStore.open(t.root, identity, 8)).store;
      assert.deepEqual(reopened.fileState(target), { mtimeMs: 1e6, size: 1 });
      assert.equal(reopened.search(fresh[3]!, 1)[0]!.hash, 'new-3');
      await store.close();
    } finally {
      t.dispose();
    }
  });

  test('a reader picks up what another writer committed with refresh()', async () => {
    const t = tempTree();
    try {
      const vs = randomUnitVectors(3, DIM, 31);
      const writer = (await IndexStore.open(t.root, identity, 4)).store;
      writer.putFile('a.ts', { mtimeMs: 1, size: 1 }, [{ ...chunkOf(1, 0), path: 'a.ts' }], [vs[0]!]);
      await writer.flush();
      const reader = (await IndexStore.open(t.root, identity, 4)).store;
      assert.equal(reader.chunkCount, 1);
      writer.putFile('b.ts', { mtimeMs: 1, size: 1 }, [{ ...chunkOf(2, 0), path: 'b.ts' }], [vs[1]!]);
      writer.removeFile('a.ts');
      await writer.flush();
      assert.ok((await reader.refresh()).length === 0);
      assert.deepEqual([...reader.paths()], ['b.ts']);
      assert.equal(reader.search(vs[1]!, 1)[0]!.path, 'b.ts');
      await writer.close();
    } finally {
      t.dispose();
    }
  });
});
