/**
 * Crash test: a writer process is killed with SIGKILL at random moments while it indexes and
 * updates; after every kill the index must load whole and hold every change it had committed,
 * vectors and keyword entries alike.
 * No model is involved, so it is cheap: about a second per run.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { test } from 'node:test';
import { LexicalIndex } from '../../src/core/search/lexicalIndex';
import { IndexStore } from '../../src/core/store/indexStore';
import { CHILD_IDENTITY, CHILD_SHARDS, fileAt } from '../helpers/storeChild';
import { tempTree } from '../helpers/tempTree';

const RUNS = Number(process.env['NEARBY_CRASH_RUNS'] ?? 50);
const CHILD = path.join(__dirname, '..', 'helpers', 'storeChild.ts');

/** What the child printed: changes made durable ("done") and those in flight when it died. */
function parse(lines: string[]): { durable: Map<string, number | 'removed'>; inFlight: Map<string, number | 'removed'> } {
  const durable = new Map<string, number | 'removed'>();
  let inFlight = new Map<string, number | 'removed'>();
  for (const line of lines) {
    const [op, p, gen] = line.split(' ');
    if (op === 'put') inFlight.set(p!, Number(gen));
    else if (op === 'remove') inFlight.set(p!, 'removed');
    else if (op === 'done') {
      for (const [k, v] of inFlight) durable.set(k, v);
      inFlight = new Map();
    }
  }
  return { durable, inFlight };
}

function runAndKill(dir: string, seed: number, delayMs: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, 'crash', dir, String(seed)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let killed = false;
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (!killed && out.startsWith('ready\n')) {
        killed = true;
        setTimeout(() => child.kill('SIGKILL'), delayMs);
      }
    });
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code, signal) => {
      if (signal !== 'SIGKILL') reject(new Error(`writer exited by itself (${code}): ${err}`));
      else resolve(out.split('\n').filter(Boolean));
    });
  });
}

/** Each chunk's keyword entries as sorted "term×count" strings. */
function keywordEntries(lexical: LexicalIndex, p: string): string[][] {
  const out: string[][] = [];
  lexical.entriesOf(p, (ids, counts) => out.push([...ids].map((id, i) => `${lexical.term(id)}×${counts[i]}`).sort()));
  return out;
}

function freshKeywords(p: string, want: ReturnType<typeof fileAt>): LexicalIndex {
  const lexical = new LexicalIndex();
  lexical.putFile(p, want.chunks, want.texts);
  return lexical;
}

test(`${RUNS} writers killed at random moments lose nothing they committed`, { timeout: 20 * 60_000 }, async (ctx) => {
  const t = tempTree();
  let state = 12345;
  const rand = (n: number) => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return state % n;
  };
  try {
    /** Generation of each file that is certainly on disk. */
    const onDisk = new Map<string, number>();
    let midFlush = 0;
    let checkedFiles = 0;
    for (let run = 0; run < RUNS; run++) {
      // Early kills land while the index is first built, later ones during updates.
      const lines = await runAndKill(t.root, run + 1, rand(run < 10 ? 300 : 600));
      const { durable, inFlight } = parse(lines.slice(1));
      for (const [p, v] of durable) {
        if (v === 'removed') onDisk.delete(p);
        else onDisk.set(p, v);
      }
      if (inFlight.size > 0) midFlush++;

      const opened = await IndexStore.open(t.root, CHILD_IDENTITY, CHILD_SHARDS);
      assert.deepEqual(opened.droppedShards, [], `run ${run}: every shard reads whole`);
      const store = opened.store;
      assert.equal(store.keywordGaps.size, 0, `run ${run}: every file's keyword entries read back`);
      const seen = new Set(store.paths());
      for (const p of new Set([...onDisk.keys(), ...inFlight.keys()])) {
        const chunks = store.chunksOf(p);
        const actual = chunks.length > 0 ? Number(chunks[0]!.symbol!.slice(1)) : undefined;
        const allowed = [onDisk.get(p), inFlight.has(p) ? (inFlight.get(p) === 'removed' ? undefined : inFlight.get(p)) : onDisk.get(p)];
        assert.ok(allowed.includes(actual), `run ${run}: ${p} is at generation ${actual}, expected ${allowed.join(' or ')}`);
        seen.delete(p);
        if (actual === undefined) {
          onDisk.delete(p);
          continue;
        }
        onDisk.set(p, actual);
        const want = fileAt(p, actual);
        assert.equal(chunks.length, want.chunks.length, `run ${run}: ${p} has all its chunks`);
        chunks.forEach((c, j) => {
          assert.equal(c.hash, want.chunks[j]!.hash);
          const v = store.vectorFor(c.hash)!;
          let cos = 0;
          for (let i = 0; i < v.length; i++) cos += v[i]! * want.vectors[j]![i]!;
          assert.ok(cos > 0.999, `run ${run}: ${c.hash} has its own vector (cos ${cos})`);
        });
        assert.deepEqual(keywordEntries(store.lexical, p), keywordEntries(freshKeywords(p, want), p), `run ${run}: ${p} has its own keyword entries`);
        checkedFiles++;
      }
      assert.deepEqual([...seen], [], `run ${run}: no file the writer never committed`);
    }
    ctx.diagnostic(`crash test: ${RUNS} kills, ${midFlush} with changes in flight, ${checkedFiles} file checks, ${onDisk.size} files at the end`);
  } finally {
    t.dispose();
  }
});
