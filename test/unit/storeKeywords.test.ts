import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { hashString } from '../../src/core/charTable';
import { IndexStore } from '../../src/core/store/indexStore';
import { entriesInHeader } from '../../src/core/store/keywordFile';
import type { StoredChunk } from '../../src/core/store/records';
import { tempTree } from '../helpers/tempTree';
import { randomUnitVectors } from '../helpers/vectors';

const identity = { modelId: 'test-model', dimension: 16, chunkerVersion: 1 };
const SHARDS = 4;

/** Twelve small "files" of two chunks each, with words that tell them apart. */
const FILES = Array.from({ length: 12 }, (_, f) => {
  const p = `src/mod${f}/file${f}.py`;
  const texts = [`def upload_part_${f}(session): retry the upload of part ${f} with backoff`, `class Cache${f}: keeps entries for ${f} minutes then evicts them`];
  const chunks = texts.map((_, i): StoredChunk => ({ path: p, startLine: i * 10 + 1, endLine: i * 10 + 8, language: 'python', kind: 'code', hash: `h${f}-${i}`, ...(i === 0 ? { symbol: `upload_part_${f}` } : {}) }));
  return { p, texts, chunks };
});

async function filledStore(dir: string): Promise<IndexStore> {
  const { store } = await IndexStore.open(dir, identity, SHARDS);
  const vs = randomUnitVectors(FILES.length * 2, 16, 5);
  FILES.forEach((f, i) => store.putFile(f.p, { mtimeMs: i, size: i }, f.chunks, vs.slice(2 * i, 2 * i + 2), f.texts));
  await store.flush();
  return store;
}

/** Ranked (path, line, score) of a keyword query: what a user would see. */
function keywordRanking(store: IndexStore, query: string): string[] {
  return store.lexical.search(query, 10).map((h) => `${h.chunk.path}:${h.chunk.startLine} ${h.score.toFixed(6)} [${h.matched.join(',')}]`);
}

const QUERIES = ['retry upload backoff', 'cache evicts entries', 'upload_part_7', 'minutes'];

function shardDirs(root: string): string[] {
  return readdirSync(path.join(root, 'shards')).map((d) => path.join(root, 'shards', d));
}

describe('keyword index on disk', () => {
  test('reopens with the same keyword rankings, without reading any file', async () => {
    const t = tempTree();
    try {
      const store = await filledStore(t.root);
      const before = QUERIES.map((q) => keywordRanking(store, q));
      assert.ok(before.every((r) => r.length > 0));
      // The indexed files do not exist: the keyword side can only come from the index.
      const { store: reopened } = await IndexStore.open(t.root, identity, SHARDS);
      assert.equal(reopened.keywordGaps.size, 0);
      assert.deepEqual(QUERIES.map((q) => keywordRanking(reopened, q)), before);
      // Each keyword file's header says how many entries it holds (opening sizes its arrays by them).
      const entries = readdirSync(path.join(t.root, 'shards'))
        .flatMap((shard) => readdirSync(path.join(t.root, 'shards', shard)).filter((n) => n.startsWith('keywords-')).map((n) => readFileSync(path.join(t.root, 'shards', shard, n))))
        .reduce((sum, bytes) => sum + entriesInHeader(bytes)!, 0);
      let held = 0;
      for (const f of FILES) store.lexical.entriesOf(f.p, (ids) => (held += ids.length));
      assert.equal(entries, held);
      assert.equal(entriesInHeader(Buffer.from('not a keyword file at all, no')), undefined);
    } finally {
      t.dispose();
    }
  });

  test('a keyword file left by an interrupted write is ignored, then removed by the next writer', async () => {
    const t = tempTree();
    try {
      const store = await filledStore(t.root);
      const before = QUERIES.map((q) => keywordRanking(store, q));
      // A crash after the new keyword file landed but before its shard did: the shard names the old one.
      const dir = shardDirs(t.root)[0]!;
      const named = readdirSync(dir).find((n) => n.startsWith('keywords-'))!;
      const orphan = path.join(dir, 'keywords-0123456789ab.bin');
      writeFileSync(orphan, readFileSync(path.join(dir, named)).subarray(0, 40));
      const { store: reader } = await IndexStore.open(t.root, identity, SHARDS);
      assert.deepEqual(QUERIES.map((q) => keywordRanking(reader, q)), before);

      const { store: writer } = await IndexStore.open(t.root, identity, SHARDS);
      const shardOfFirst = FILES.find((f) => readFileSync(path.join(dir, 'index.json'), 'utf8').includes(f.p))!;
      writer.putFile(shardOfFirst.p, { mtimeMs: 99, size: 99 }, shardOfFirst.chunks, randomUnitVectors(2, 16, 9), ['def renamed_thing(): pass', 'other words']);
      await writer.flush();
      const left = readdirSync(dir).filter((n) => n.startsWith('keywords-'));
      assert.ok(!left.includes(path.basename(orphan)), `orphan removed, left: ${left.join(', ')}`);
      assert.equal(left.length, 2, 'the new keyword file and the one it replaced (a reader may still be reading it)');
      const { store: again } = await IndexStore.open(t.root, identity, SHARDS);
      assert.equal(again.lexical.search('renamed_thing', 1)[0]?.chunk.path, shardOfFirst.p);
    } finally {
      t.dispose();
    }
  });

  test('a damaged keyword file loses only its own keyword entries, which are then reported as gaps', async () => {
    const t = tempTree();
    try {
      await filledStore(t.root);
      const dir = shardDirs(t.root).find((d) => readdirSync(d).some((n) => n.startsWith('keywords-')) && readFileSync(path.join(d, 'index.json'), 'utf8').includes('"path"'))!;
      const named = readdirSync(dir).find((n) => n.startsWith('keywords-'))!;
      const bytes = readFileSync(path.join(dir, named));
      writeFileSync(path.join(dir, named), bytes.subarray(0, bytes.length - 3));
      const inShard = FILES.filter((f) => readFileSync(path.join(dir, 'index.json'), 'utf8').includes(JSON.stringify(f.p)));
      assert.ok(inShard.length > 0);

      const { store, droppedShards } = await IndexStore.open(t.root, identity, SHARDS);
      assert.deepEqual(droppedShards, [], 'vectors and chunks are intact');
      assert.equal(store.fileCount, FILES.length);
      assert.deepEqual([...store.keywordGaps].sort(), inShard.map((f) => f.p).sort());
      // Filled in again from the texts (as RootIndex does from the files), they rank as before.
      for (const f of inShard) store.putKeywords(f.p, f.texts);
      assert.equal(store.keywordGaps.size, 0);
      const fresh = await filledStore(tempTree().root);
      assert.deepEqual(QUERIES.map((q) => keywordRanking(store, q)), QUERIES.map((q) => keywordRanking(fresh, q)));
    } finally {
      t.dispose();
    }
  });

  test('an index written before keyword files existed opens with every file as a gap', async () => {
    const t = tempTree();
    try {
      await filledStore(t.root);
      for (const dir of shardDirs(t.root)) {
        const file = path.join(dir, 'index.json');
        const shard = JSON.parse(readFileSync(file, 'utf8')) as { nearby: Record<string, unknown> };
        delete shard.nearby['keywords'];
        writeFileSync(file, JSON.stringify(shard));
      }
      const { store } = await IndexStore.open(t.root, identity, SHARDS);
      assert.equal(store.fileCount, FILES.length);
      assert.equal(store.keywordGaps.size, FILES.length);
      assert.deepEqual(store.lexical.search('upload', 5), []);

      // A writer that fills them in writes them down: the next open has none missing.
      await store.acquireWriter();
      for (const f of FILES) store.putKeywords(f.p, f.texts);
      await store.releaseWriter();
      const { store: reopened } = await IndexStore.open(t.root, identity, SHARDS);
      assert.equal(reopened.keywordGaps.size, 0);
      assert.ok(keywordRanking(reopened, 'retry upload backoff').length > 0);
    } finally {
      t.dispose();
    }
  });

  test('keyword entries filled in by a reader reach the disk once it becomes the writer', async () => {
    const t = tempTree();
    try {
      await filledStore(t.root);
      for (const dir of shardDirs(t.root)) {
        const file = path.join(dir, 'index.json');
        writeFileSync(file, readFileSync(file, 'utf8').replace(/,"keywords":"keywords-[0-9a-f]+\.bin"/, ''));
      }
      const { store } = await IndexStore.open(t.root, identity, SHARDS);
      for (const f of FILES) store.putKeywords(f.p, f.texts);
      assert.equal(store.hasUnsavedChanges, false, 'a reader writes nothing');
      await store.acquireWriter();
      await store.releaseWriter();
      const { store: reopened } = await IndexStore.open(t.root, identity, SHARDS);
      assert.equal(reopened.keywordGaps.size, 0);
    } finally {
      t.dispose();
    }
  });

  test("a reader's refresh brings in another writer's keyword entries", async () => {
    const t = tempTree();
    try {
      const writer = await filledStore(t.root);
      const { store: reader } = await IndexStore.open(t.root, identity, SHARDS);
      assert.deepEqual(reader.lexical.search('invoice', 3), []);
      await writer.acquireWriter();
      const chunk: StoredChunk = { path: 'billing/invoice.py', startLine: 1, endLine: 9, language: 'python', kind: 'code', hash: 'inv' };
      writer.putFile(chunk.path, { mtimeMs: 1, size: 1 }, [chunk], randomUnitVectors(1, 16, 3), ['def render_invoice(order): build the invoice pdf']);
      writer.removeFile(FILES[0]!.p);
      await writer.releaseWriter();
      await reader.refresh();
      assert.equal(reader.lexical.search('invoice pdf', 3)[0]?.chunk.path, 'billing/invoice.py');
      assert.ok(!reader.lexical.search('upload_part_0', 5).some((h) => h.chunk.path === FILES[0]!.p), 'removed files leave the keyword side too');
    } finally {
      t.dispose();
    }
  });
});

describe('reading keyword files beside the shards', () => {
  test("a small shard read before a much larger one keeps its own vectors", async () => {
    const t = tempTree();
    try {
      // Shards are read one after another through one decoder; reading a much larger one moves
      // the memory the previous one's vectors are in, so they must be in before anything awaits.
      const dim = 64;
      const shardOf = (p: string) => (hashString(p) >>> 0) % 32;
      const names = Array.from({ length: 400 }, (_, i) => `src/file${i}.ts`);
      const small = names.find((p) => shardOf(p) === 0)!;
      const large = names.find((p) => shardOf(p) === 1)!;
      const { store } = await IndexStore.open(t.root, { ...identity, dimension: dim }, 32);
      const want = new Map<string, Float32Array>();
      for (const [p, n] of [[small, 2], [large, 3000]] as const) {
        const vs = randomUnitVectors(n, dim, n);
        const chunks = Array.from({ length: n }, (_, i): StoredChunk => ({ path: p, startLine: i * 20 + 1, endLine: i * 20 + 19, language: 'typescript', kind: 'code', hash: `${p}#${i}` }));
        chunks.forEach((c, i) => want.set(c.hash, vs[i]!));
        store.putFile(p, { mtimeMs: 1, size: 1 }, chunks, vs, chunks.map((_, i) => `export function handler${i}(request) { return route(request) }`));
      }
      await store.flush();
      const { store: reopened } = await IndexStore.open(t.root, { ...identity, dimension: dim }, 32);
      assert.equal(reopened.chunkCount, want.size);
      assert.equal(reopened.keywordGaps.size, 0);
      for (const [hash, w] of want) {
        const v = reopened.vectorFor(hash)!;
        let cos = 0;
        for (let j = 0; j < dim; j++) cos += v[j]! * w[j]!;
        assert.ok(cos > 0.999, `${hash} has its own vector (cos ${cos})`);
      }
    } finally {
      t.dispose();
    }
  });
});
