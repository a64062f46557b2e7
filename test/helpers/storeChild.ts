/**
 * A separate process that writes an index, for the lock and crash tests (a lock between processes
 * can only be tested with processes). Modes:
 *   hold <dir> <ms>   take the writer lock, commit one file, print "ready", keep the lock <ms> (0: until killed)
 *   race <dir>        try to take the lock once; print "won" (then hold 1.5 s) or "lost <message>"
 *   crash <dir> <seed>
 *                     index and update files forever, printing "put <path> <gen>" / "remove <path>"
 *                     for each change and "done" once a flush made them durable; killed by the test
 */
import { IndexStore } from '../../src/core/store/indexStore';
import type { StoredChunk } from '../../src/core/store/records';
import { WriterLock } from '../../src/core/store/writerLock';
import { randomUnitVectors } from './vectors';

export const CHILD_IDENTITY = { modelId: 'child-model', dimension: 32, chunkerVersion: 1 };
export const CHILD_SHARDS = 8;

/** The chunks, vectors and texts of generation `gen` of `path`: the crash test recomputes them to check the disk. */
export function fileAt(path: string, gen: number): { chunks: StoredChunk[]; vectors: Float32Array[]; texts: string[] } {
  const count = 1 + (hashOf(`${path}@${gen}`) % 12);
  const vectors = randomUnitVectors(count, CHILD_IDENTITY.dimension, hashOf(`${path}#${gen}`));
  const chunks = vectors.map((_, i): StoredChunk => ({ path, startLine: i * 10 + 1, endLine: i * 10 + 9, language: 'typescript', kind: 'code', symbol: `g${gen}`, hash: `${path}:${gen}:${i}` }));
  const texts = chunks.map((_, i) => `function render_${gen}_${i}(pages) { return pages.map(paginate) } // generation ${gen} part ${i}`);
  return { chunks, vectors, texts };
}

function hashOf(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

const say = (line: string) => process.stdout.write(`${line}\n`);

async function main(): Promise<void> {
  const [mode, dir, arg] = process.argv.slice(2);
  if (!dir) throw new Error('usage: storeChild <mode> <dir> [arg]');
  if (mode === 'hold') {
    const { store } = await IndexStore.open(dir, CHILD_IDENTITY, { shardCount: CHILD_SHARDS, lock: { heartbeatMs: 100 } });
    await store.acquireWriter();
    const { chunks, vectors, texts } = fileAt('held.ts', 1);
    store.putFile('held.ts', { mtimeMs: 1, size: 1 }, chunks, vectors, texts);
    await store.flush();
    say('ready');
    const ms = Number(arg ?? 0);
    await new Promise((resolve) => setTimeout(resolve, ms > 0 ? ms : 2 ** 30));
    await store.close();
    return;
  }
  if (mode === 'race') {
    try {
      const lock = await WriterLock.acquire(dir);
      say('won');
      await new Promise((resolve) => setTimeout(resolve, 1500));
      await lock.release();
    } catch (err) {
      say(`lost ${(err as Error).message}`);
    }
    return;
  }
  if (mode === 'crash') {
    await crashWorkload(dir, Number(arg ?? 1));
    return;
  }
  throw new Error(`unknown mode ${mode}`);
}

/** Random puts and removes with flushes in between: a kill can land anywhere, including mid-write. */
async function crashWorkload(dir: string, seed: number): Promise<void> {
  let state = seed >>> 0 || 1;
  const rand = (n: number) => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state % n;
  };
  const { store } = await IndexStore.open(dir, CHILD_IDENTITY, { shardCount: CHILD_SHARDS });
  await store.acquireWriter();
  say('ready');
  const gens = new Map<string, number>();
  for (const p of store.paths()) gens.set(p, Number(store.chunksOf(p)[0]?.symbol?.slice(1) ?? 0));
  for (let round = 0; ; round++) {
    // Early rounds index many new files; later ones mostly update and remove. Each change is
    // announced before the flush and "done" after it, so the test knows what may be on disk.
    const batch = 1 + rand(round < 5 ? 40 : 6);
    for (let i = 0; i < batch; i++) {
      const p = `src/dir${rand(7)}/file${rand(300)}.ts`;
      if (gens.has(p) && rand(8) === 0) {
        store.removeFile(p);
        gens.delete(p);
        say(`remove ${p}`);
        continue;
      }
      const gen = (gens.get(p) ?? 0) + 1;
      const { chunks, vectors, texts } = fileAt(p, gen);
      store.putFile(p, { mtimeMs: gen, size: chunks.length }, chunks, vectors, texts);
      gens.set(p, gen);
      say(`put ${p} ${gen}`);
    }
    await store.flush();
    say('done');
  }
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  });
}
