import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { IndexStore } from '../../src/core/store/indexStore';
import { IndexLockedError, LOCK_FILE, WriterLock } from '../../src/core/store/writerLock';
import { CHILD_IDENTITY, CHILD_SHARDS, fileAt } from '../helpers/storeChild';
import { tempTree } from '../helpers/tempTree';

const CHILD = path.join(__dirname, '..', 'helpers', 'storeChild.ts');

interface Child {
  proc: ChildProcess;
  lines: string[];
  /** Resolves with the first line matching. */
  waitFor(re: RegExp): Promise<string>;
  exited: Promise<number | null>;
}

function startChild(...args: string[]): Child {
  const proc = spawn(process.execPath, ['--import', 'tsx', CHILD, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  const waiters: { re: RegExp; resolve: (l: string) => void }[] = [];
  let buffered = '';
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  proc.stdout!.on('data', (d: Buffer) => {
    buffered += d.toString();
    for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      lines.push(line);
      for (const w of waiters.splice(0)) if (w.re.test(line)) w.resolve(line);
      else waiters.push(w);
    }
  });
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  return {
    proc,
    lines,
    exited,
    waitFor: (re) =>
      new Promise((resolve, reject) => {
        const seen = lines.find((l) => re.test(l));
        if (seen) return resolve(seen);
        waiters.push({ re, resolve });
        void exited.then((code) => reject(new Error(`child exited (${code}) before printing ${re}: ${stderr}`)));
      }),
  };
}

async function kill(child: Child): Promise<void> {
  child.proc.kill('SIGKILL');
  await child.exited;
}

describe('writer lock across processes', () => {
  test('a second writer gets a clear error naming the holder; readers keep working', async () => {
    const t = tempTree();
    const child = startChild('hold', t.root, '0');
    try {
      await child.waitFor(/^ready$/);
      await assert.rejects(WriterLock.acquire(t.root), (err: unknown) => {
        assert.ok(err instanceof IndexLockedError);
        assert.equal(err.holder.pid, child.proc.pid);
        assert.match(err.message, new RegExp(`another Nearby process \\(pid ${child.proc.pid}\\) is indexing this folder`));
        return true;
      });
      const { store } = await IndexStore.open(t.root, CHILD_IDENTITY, CHILD_SHARDS);
      assert.deepEqual([...store.paths()], ['held.ts'], 'a reader opens the index the other process is writing');
      const held = fileAt('held.ts', 1);
      assert.equal(store.search(held.vectors[0]!, 1)[0]!.hash, held.chunks[0]!.hash);
      store.putFile('mine.ts', { mtimeMs: 1, size: 1 }, fileAt('mine.ts', 1).chunks, fileAt('mine.ts', 1).vectors);
      await assert.rejects(store.flush(), IndexLockedError, 'writing needs the lock');
      assert.ok(store.hasUnsavedChanges, 'a refused write keeps the changes pending');
    } finally {
      await kill(child);
      t.dispose();
    }
  });

  test('the lock of a killed writer is recovered, and its committed data is there', async () => {
    const t = tempTree();
    try {
      const child = startChild('hold', t.root, '0');
      await child.waitFor(/^ready$/);
      await kill(child);
      assert.ok(existsSync(path.join(t.root, LOCK_FILE)), 'SIGKILL leaves the lock file behind');
      const { store } = await IndexStore.open(t.root, CHILD_IDENTITY, CHILD_SHARDS);
      await store.acquireWriter();
      assert.ok(store.isWriter);
      assert.equal(JSON.parse(readFileSync(path.join(t.root, LOCK_FILE), 'utf8')).pid, process.pid);
      assert.deepEqual([...store.paths()], ['held.ts']);
      await store.releaseWriter();
      assert.ok(!existsSync(path.join(t.root, LOCK_FILE)), 'released on request');
      await store.close();
    } finally {
      t.dispose();
    }
  });

  test('a lock whose heartbeat stopped is stale even if its pid is alive; a fresh one is not', async () => {
    const t = tempTree();
    // A live process that is not a Nearby writer: its pid passes the liveness check.
    const bystander = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
    try {
      const file = path.join(t.root, LOCK_FILE);
      writeFileSync(file, JSON.stringify({ pid: bystander.pid, host: os.hostname(), token: 'abandoned', since: new Date().toISOString() }));
      await assert.rejects(WriterLock.acquire(t.root, { staleMs: 10_000 }), IndexLockedError);
      const old = new Date(Date.now() - 60_000);
      utimesSync(file, old, old);
      const lock = await WriterLock.acquire(t.root, { staleMs: 10_000 });
      assert.equal(JSON.parse(readFileSync(file, 'utf8')).pid, process.pid);
      await lock.release();
    } finally {
      bystander.kill('SIGKILL');
      t.dispose();
    }
  });

  test('a live holder keeps its lock past the stale limit by its heartbeat', async () => {
    const t = tempTree();
    const child = startChild('hold', t.root, '0'); // heartbeat every 100 ms
    try {
      await child.waitFor(/^ready$/);
      await new Promise((resolve) => setTimeout(resolve, 1500));
      await assert.rejects(WriterLock.acquire(t.root, { staleMs: 1000 }), IndexLockedError);
    } finally {
      await kill(child);
      t.dispose();
    }
  });

  test('of several processes racing for the lock, exactly one wins', async () => {
    const t = tempTree();
    const racers = Array.from({ length: 4 }, () => startChild('race', t.root));
    try {
      const results = await Promise.all(racers.map((r) => r.waitFor(/^(won|lost)/)));
      assert.equal(results.filter((r) => r === 'won').length, 1, results.join('\n'));
      for (const r of results.filter((x) => x !== 'won')) assert.match(r, /another Nearby process \(pid \d+\) is indexing this folder/);
      await Promise.all(racers.map((r) => r.exited));
      assert.ok(!existsSync(path.join(t.root, LOCK_FILE)), 'the winner released it');
    } finally {
      for (const r of racers) r.proc.kill('SIGKILL');
      t.dispose();
    }
  });

  test('a writer that lost its lock to a takeover refuses to write', async () => {
    const t = tempTree();
    try {
      const { store } = await IndexStore.open(t.root, CHILD_IDENTITY, CHILD_SHARDS);
      await store.acquireWriter();
      // Another process judged the lock stale and replaced it.
      writeFileSync(path.join(t.root, LOCK_FILE), JSON.stringify({ pid: process.pid, host: os.hostname(), token: 'someone-else', since: '' }));
      store.putFile('a.ts', { mtimeMs: 1, size: 1 }, fileAt('a.ts', 1).chunks, fileAt('a.ts', 1).vectors);
      await assert.rejects(store.flush(), /lost the writer lock/);
    } finally {
      t.dispose();
    }
  });
});
