import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { LocalIndex } from 'vectra';
import { IndexStore } from '../../src/core/store/indexStore';
import { readRunRecord, RUN_FILE, writeRunEnd, writeRunStart } from '../../src/core/store/runRecord';
import type { StoredChunk } from '../../src/core/store/records';
import { tempTree } from '../helpers/tempTree';
import { randomUnitVectors } from '../helpers/vectors';

const identity = { modelId: 'test-model', dimension: 16, chunkerVersion: 1 };

function chunk(p: string, start: number, hash: string, extra: Partial<StoredChunk> = {}): StoredChunk {
  return { path: p, startLine: start, endLine: start + 4, language: 'python', kind: 'code', hash, ...extra };
}

function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

describe('IndexStore', () => {
  test('round-trips files through disk and finds the nearest chunk', async () => {
    const t = tempTree();
    try {
      const vs = randomUnitVectors(3, 16);
      const { store } = await IndexStore.open(t.root, identity, 4);
      store.putFile('a.py', { mtimeMs: 1, size: 10 }, [chunk('a.py', 1, 'h1', { symbol: 'load' }), chunk('a.py', 6, 'h2')], [vs[0]!, vs[1]!]);
      store.putFile('docs/b.md', { mtimeMs: 2, size: 20 }, [chunk('docs/b.md', 1, 'h3', { kind: 'doc', language: 'markdown' })], [vs[2]!]);
      await store.flush();

      const reopened = await IndexStore.open(t.root, identity, 4);
      assert.equal(reopened.rebuiltBecause, undefined);
      assert.deepEqual(reopened.droppedShards, []);
      const s = reopened.store;
      assert.equal(s.fileCount, 2);
      assert.equal(s.chunkCount, 3);
      assert.deepEqual(s.fileState('a.py'), { mtimeMs: 1, size: 10 });
      const [best] = s.search(vs[1]!, 1);
      assert.equal(best!.hash, 'h2');
      assert.ok(best!.score > 0.999, `int8 storage keeps cosine ~1, got ${best!.score}`);
      assert.equal(s.search(vs[0]!, 3)[0]!.symbol, 'load');
    } finally {
      t.dispose();
    }
  });

  test('top-k equals brute force, with filters', async () => {
    const t = tempTree();
    try {
      const vs = randomUnitVectors(200, 16, 7);
      const { store } = await IndexStore.open(t.root, identity, 8);
      for (let f = 0; f < 20; f++) {
        const p = f % 2 ? `src/m${f}.py` : `docs/d${f}.md`;
        const kind = f % 2 ? 'code' : 'doc';
        store.putFile(p, { mtimeMs: f, size: f }, Array.from({ length: 10 }, (_, i) => chunk(p, i * 5 + 1, `h${f}-${i}`, { kind })), vs.slice(f * 10, f * 10 + 10));
      }
      const q = randomUnitVectors(1, 16, 99)[0]!;
      const all = vs.map((v, i) => ({ i, s: dot(q, v) })).sort((a, b) => b.s - a.s);
      const got = store.search(q, 5).map((h) => h.hash);
      const want = all.slice(0, 5).map(({ i }) => `h${Math.floor(i / 10)}-${i % 10}`);
      assert.deepEqual(got, want);

      const codeOnly = store.search(q, 200, { kind: 'code' });
      assert.equal(codeOnly.length, 100);
      assert.ok(codeOnly.every((h) => h.path.startsWith('src/')));
      assert.ok(store.search(q, 200, { pathGlob: 'docs/**' }).every((h) => h.path.startsWith('docs/')));
      assert.ok(store.search(q, 200, { pathGlob: '*.md' }).every((h) => h.path.endsWith('.md')));
      const excluded = store.search(q, 200, { excludeRange: { path: 'src/m1.py', startLine: 1, endLine: 7 } });
      assert.equal(excluded.length, 198, 'chunks 1-5 and 6-10 overlap lines 1-7');
    } finally {
      t.dispose();
    }
  });

  test('each shard opens and answers queryItems with Vectra LocalIndex', async () => {
    const t = tempTree();
    try {
      const vs = randomUnitVectors(30, 16, 3);
      const { store } = await IndexStore.open(t.root, identity, 2);
      for (let f = 0; f < 10; f++) store.putFile(`f${f}.py`, { mtimeMs: 0, size: 0 }, [0, 1, 2].map((i) => chunk(`f${f}.py`, i * 5 + 1, `h${f}-${i}`)), vs.slice(f * 3, f * 3 + 3));
      await store.flush();
      const shardDirs = readdirSync(path.join(t.root, 'shards'));
      assert.equal(shardDirs.length, 2);
      let seen = 0;
      for (const dir of shardDirs) {
        const vectra = new LocalIndex(path.join(t.root, 'shards', dir));
        assert.ok(await vectra.isIndexCreated());
        const items = await vectra.listItems();
        seen += items.length;
        const target = items[0]!;
        const hash = String(target.metadata['hash']);
        const [i, j] = hash.slice(1).split('-').map(Number);
        const results = await vectra.queryItems(Array.from(vs[i! * 3 + j!]!), '', 1);
        assert.equal(results[0]!.item.metadata['hash'], hash);
        assert.ok(results[0]!.score > 0.999);
      }
      assert.equal(seen, 30);
    } finally {
      t.dispose();
    }
  });

  test('a model or chunker change rebuilds instead of mixing vectors', async () => {
    const t = tempTree();
    try {
      const { store } = await IndexStore.open(t.root, identity, 2);
      store.putFile('a.py', { mtimeMs: 1, size: 1 }, [chunk('a.py', 1, 'h')], randomUnitVectors(1, 16));
      await store.flush();
      const other = await IndexStore.open(t.root, { ...identity, modelId: 'other', dimension: 8 }, 2);
      assert.match(other.rebuiltBecause!, /model test-model → other/);
      assert.equal(other.store.chunkCount, 0);
      const untouched = await IndexStore.open(t.root, identity, 2);
      assert.equal(untouched.store.chunkCount, 1, 'opening with another model writes nothing: the old index stays until a writer replaces it');
      await other.store.acquireWriter();
      await other.store.releaseWriter();
      const again = await IndexStore.open(t.root, { ...identity, modelId: 'other', dimension: 8 }, 2);
      assert.equal(again.rebuiltBecause, undefined);
      const chunker = await IndexStore.open(t.root, { modelId: 'other', dimension: 8, chunkerVersion: 2 }, 2);
      assert.match(chunker.rebuiltBecause!, /chunker version 1 → 2/);
    } finally {
      t.dispose();
    }
  });

  test('the memory report counts what the index holds', async () => {
    const t = tempTree();
    try {
      const { store } = await IndexStore.open(t.root, identity, 2);
      const empty = store.memory;
      const vs = randomUnitVectors(500, 16);
      for (let f = 0; f < 100; f++) {
        const chunks = Array.from({ length: 5 }, (_, i) => chunk(`f${f}.py`, i * 5 + 1, `h${f}.${i}`));
        store.putFile(`f${f}.py`, { mtimeMs: 0, size: 0 }, chunks, vs.slice(f * 5, f * 5 + 5), chunks.map((_, i) => `def handler_${f}_${i}(event): return event.get("id_${f}")`));
      }
      const full = store.memory;
      assert.equal(full.chunkRecords, 500);
      assert.ok(full.vectorTableBytes >= 500 * 16, `vectors: ${full.vectorTableBytes} bytes for 500 × 16 int8`);
      assert.ok(full.keywordIndexBytes > empty.keywordIndexBytes, 'keyword postings grow with the chunks');
      assert.ok(full.keywordVocabularyBytesEstimate > empty.keywordVocabularyBytesEstimate, 'and so does the vocabulary');
      for (let f = 0; f < 100; f++) store.removeFile(`f${f}.py`);
      assert.equal(store.memory.chunkRecords, 0);
    } finally {
      t.dispose();
    }
  });

  test('a damaged or future manifest is rebuilt, and says why', async () => {
    const t = tempTree();
    try {
      const { store } = await IndexStore.open(t.root, identity, 2);
      store.putFile('a.py', { mtimeMs: 1, size: 1 }, [chunk('a.py', 1, 'h')], randomUnitVectors(1, 16));
      await store.flush();
      const manifest = path.join(t.root, 'manifest.json');
      const good = readFileSync(manifest, 'utf8');
      for (const [bad, why] of [[good.slice(0, 20), /not valid JSON/], ['{}', /lacks its fields/], [JSON.stringify({ ...JSON.parse(good), formatVersion: 99 }), /newer Nearby \(index format 99/]] as const) {
        writeFileSync(manifest, bad);
        const opened = await IndexStore.open(t.root, identity, 2);
        assert.match(opened.rebuiltBecause ?? '', why);
        assert.equal(opened.store.chunkCount, 0);
        // The first flush of a writer replaces the damaged index with a whole one.
        opened.store.putFile('a.py', { mtimeMs: 1, size: 1 }, [chunk('a.py', 1, 'h')], randomUnitVectors(1, 16));
        await opened.store.flush();
        const healed = await IndexStore.open(t.root, identity, 2);
        assert.equal(healed.rebuiltBecause, undefined);
        assert.equal(healed.store.chunkCount, 1);
      }
    } finally {
      t.dispose();
    }
  });

  test('a run record says whether the last run finished; a dead process\'s run is interrupted', async () => {
    const t = tempTree();
    try {
      assert.equal(await readRunRecord(t.root), undefined);
      const started = await writeRunStart(t.root, undefined);
      assert.equal((await readRunRecord(t.root))?.state, 'running', 'this process is alive');
      const done = await writeRunEnd(t.root, started, 'complete');
      assert.equal(done.lastCompleteAt, done.finishedAt);
      const again = await writeRunStart(t.root, done);
      assert.equal(again.lastCompleteAt, done.finishedAt, 'a new run remembers the last complete one');
      const file = path.join(t.root, RUN_FILE);
      writeFileSync(file, JSON.stringify({ ...JSON.parse(readFileSync(file, 'utf8')), pid: 2 ** 22 + 12345 }));
      const interrupted = await readRunRecord(t.root);
      assert.equal(interrupted?.state, 'interrupted');
      assert.equal(interrupted?.lastCompleteAt, done.finishedAt);
      writeFileSync(file, '{"state":');
      assert.equal(await readRunRecord(t.root), undefined, 'an unreadable record is no record');
    } finally {
      t.dispose();
    }
  });

  test('a corrupt shard is dropped with a note; the others survive', async () => {
    const t = tempTree();
    try {
      const { store } = await IndexStore.open(t.root, identity, 2);
      const vs = randomUnitVectors(10, 16);
      for (let f = 0; f < 10; f++) store.putFile(`f${f}.py`, { mtimeMs: 0, size: 0 }, [chunk(`f${f}.py`, 1, `h${f}`)], [vs[f]!]);
      await store.flush();
      const victim = path.join(t.root, 'shards', readdirSync(path.join(t.root, 'shards'))[0]!, 'index.json');
      writeFileSync(victim, '{"version":1,"items":[{"id":'); // torn write, as a crash without rename would leave
      const reopened = await IndexStore.open(t.root, identity, 2);
      assert.equal(reopened.droppedShards.length, 1);
      assert.ok(reopened.store.fileCount > 0 && reopened.store.fileCount < 10);
      await reopened.store.flush();
      const healed = await IndexStore.open(t.root, identity, 2);
      assert.deepEqual(healed.droppedShards, [], 'the next flush rewrites the dropped shard');
    } finally {
      t.dispose();
    }
  });

  test('a reader picks up what another writer committed, and is told which files changed', async () => {
    const t = tempTree();
    try {
      const vs = randomUnitVectors(3, 16, 11);
      const writer = (await IndexStore.open(t.root, identity, 4)).store;
      writer.putFile('a.py', { mtimeMs: 1, size: 1 }, [chunk('a.py', 1, 'ha')], [vs[0]!]);
      await writer.flush();
      const told: string[][] = [];
      const reader = (await IndexStore.open(t.root, identity, { shardCount: 4, onReloaded: (paths) => told.push(paths.sort()) })).store;
      assert.equal(reader.chunkCount, 1);

      await writer.acquireWriter();
      writer.putFile('b.py', { mtimeMs: 2, size: 2 }, [chunk('b.py', 1, 'hb')], [vs[1]!]);
      writer.removeFile('a.py');
      await writer.releaseWriter();
      assert.equal(reader.search(vs[1]!, 1)[0]?.hash, 'ha', 'a reader sees its snapshot until it refreshes');
      await reader.refresh();
      assert.deepEqual(told.flat().sort(), ['a.py', 'b.py']);
      assert.equal(reader.search(vs[1]!, 1)[0]?.hash, 'hb');
      assert.deepEqual([...reader.paths()], ['b.py']);
      told.length = 0;
      await reader.refresh();
      assert.deepEqual(told, [], 'nothing changed, nothing reported');
    } finally {
      t.dispose();
    }
  });

  test('removeFile and re-used vectors by content hash', async () => {
    const t = tempTree();
    try {
      const { store } = await IndexStore.open(t.root, identity, 2);
      const [v] = randomUnitVectors(1, 16);
      store.putFile('old/name.py', { mtimeMs: 0, size: 0 }, [chunk('old/name.py', 1, 'same-text')], [v!]);
      await store.flush();
      assert.ok(store.vectorFor('same-text'));
      store.putFile('new/name.py', { mtimeMs: 0, size: 0 }, [chunk('new/name.py', 1, 'same-text')], [store.vectorFor('same-text')!]);
      assert.ok(store.removeFile('old/name.py'));
      await store.flush();
      assert.deepEqual([...store.paths()], ['new/name.py']);
      assert.ok(store.vectorFor('same-text'), 'still referenced by the renamed file');
      store.removeFile('new/name.py');
      await store.flush();
      assert.equal(store.vectorFor('same-text'), undefined);
    } finally {
      t.dispose();
    }
  });

  test('a text several files hold keeps its vector until the last copy is gone, whichever copy goes first', async () => {
    // A crash test found it: a file and its renamed twin both indexed after a killed run, the old
    // name removed, and the twin's chunks lost their vector (searches scored them as unrelated).
    for (const order of [['a.py', 'b.py', 'c.py'], ['c.py', 'b.py', 'a.py'], ['b.py', 'a.py', 'c.py']]) {
      const t = tempTree();
      try {
        const { store } = await IndexStore.open(t.root, identity, 2);
        const [v, w] = randomUnitVectors(2, 16);
        store.putFile('other.py', { mtimeMs: 0, size: 0 }, [chunk('other.py', 1, 'other')], [w!]);
        assert.ok(store.vectorFor('other'), 'the hash index is built before the copies arrive');
        for (const p of ['a.py', 'b.py', 'c.py']) store.putFile(p, { mtimeMs: 0, size: 0 }, [chunk(p, 1, 'shared')], [v!]);
        for (const [i, p] of order.entries()) {
          store.removeFile(p);
          await store.flush();
          const kept = store.vectorFor('shared');
          if (i < 2) assert.ok(kept && dot(kept, v!) > 0.99, `removing ${order.slice(0, i + 1).join(', ')} of three copies lost the vector`);
          else assert.equal(kept, undefined, 'gone with the last copy');
        }
        // Rows of the removed copies are reused; the other text's vector is untouched.
        store.putFile('d.py', { mtimeMs: 0, size: 0 }, [chunk('d.py', 1, 'new')], [w!]);
        assert.ok(dot(store.vectorFor('other')!, w!) > 0.99);
      } finally {
        t.dispose();
      }
    }
  });
});
