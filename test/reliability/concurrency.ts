/**
 * Several processes on one folder, and the bursts of changes version control makes: one writer at
 * a time, readers see its commits within 2 s, a second writer is told why it waits, and after a
 * branch switch or a burst of stashes and checkouts the index converges to a clean build's.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, unlinkSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import type { WorkerClient } from '../../src/worker/client';
import { compareIndexes, copyCorpus, expect, median, readIndex, row, runCli, scratch, seeded, sleep, workerOn, type Row } from './harness';

const BRANCH_FILES = 2000;

/** Milliseconds until keyword search on `client` finds (or stops finding) `word` in `file`. */
async function until(client: WorkerClient, word: string, file: string, present: boolean, limitMs: number): Promise<number | undefined> {
  const t0 = Date.now();
  while (Date.now() - t0 < limitMs) {
    const reply = await client.request('search', { query: word, k: 3, mode: 'lexical' });
    if (reply.hits.some((h) => h.path === file) === present) return Date.now() - t0;
    await sleep(50);
  }
  return undefined;
}

function jobFile(i: number, variant: string): string {
  return `def job_${i}(queue):\n    """Run job ${i} of the ${variant} branch: take it from the queue and report its result."""\n    result = queue.pop(${i})\n    return report(result, "${variant}")\n`;
}

function git(cwd: string, ...args: string[]): void {
  execFileSync('git', ['-c', 'user.email=rel@nearby.test', '-c', 'user.name=reliability', ...args], { cwd, stdio: 'ignore' });
}

export async function concurrencyRow(): Promise<Row> {
  const r = row('concurrency', 'two windows on one folder, a second writer (worker and CLI), a branch switch of 2,000 files, stash/checkout bursts: fresh reads within 2 s, clear waits, convergence to a clean build');
  const s = scratch('conc');
  const root = path.join(s.dir, 'repo');
  const indexDir = path.join(s.dir, 'index');
  copyCorpus(root);
  mkdirSync(path.join(root, 'jobs'));
  for (let i = 0; i < BRANCH_FILES; i++) writeFileSync(path.join(root, 'jobs', `job${i}.py`), jobFile(i, 'main'));
  const writer = workerOn(root, indexDir);
  const reader = workerOn(root, indexDir);
  try {
    await writer.request('index', {});
    await reader.start();

    // Two windows: the second sees the first one's commits.
    r.tried++;
    const seen: number[] = [];
    for (let i = 0; i < 5; i++) {
      const rel = `src/fresh${i}.py`;
      const word = `zqxfresh${i}word`;
      writeFileSync(path.join(root, rel), `def fresh_${i}():\n    """${word}: made while another window watches."""\n    return ${i}\n`);
      await writer.request('index', { onlyPaths: { [root]: [rel] } });
      const ms = await until(reader, word, rel, true, 5_000);
      expect(r, ms !== undefined && ms <= 2_000, `second window: a new file showed after ${ms ?? '> 5000'} ms`);
      if (ms !== undefined) seen.push(ms);
      unlinkSync(path.join(root, rel));
      await writer.request('index', { onlyPaths: { [root]: [rel] } });
      const gone = await until(reader, word, rel, false, 5_000);
      expect(r, gone !== undefined && gone <= 2_000, `second window: a deleted file stayed ${gone ?? '> 5000'} ms`);
    }

    // A second writer while the first indexes: told why, and its searches keep working.
    r.tried++;
    for (let i = 0; i < BRANCH_FILES; i += 2) writeFileSync(path.join(root, 'jobs', `job${i}.py`), jobFile(i, 'feature'));
    const first = writer.request('index', {});
    await sleep(150);
    const second = await reader.request('index', {}).then(
      () => 'indexed',
      (err: Error) => err.message,
    );
    const cli = await runCli(['index', root, '--index-dir', indexDir]);
    const search = await reader.request('search', { query: 'run a job from the queue', k: 3 }).then((x) => x.hits.length, () => -1);
    await first;
    expect(r, second === 'indexed' || /another Nearby process .* is indexing/.test(second), `second writer (worker): ${second}`);
    expect(r, cli.code === 0 || /another Nearby process .* is indexing/.test(cli.stderr), `second writer (CLI): exit ${cli.code}: ${cli.stderr.slice(0, 200)}`);
    expect(r, search > 0, 'second writer: searches fail while the first indexes');

    // A branch switch rewriting 2,000 files, then removing a tenth.
    r.tried++;
    for (let i = 0; i < BRANCH_FILES; i++) writeFileSync(path.join(root, 'jobs', `job${i}.py`), jobFile(i, 'release'));
    for (let i = 0; i < BRANCH_FILES; i += 10) unlinkSync(path.join(root, 'jobs', `job${i}.py`));
    const t0 = Date.now();
    await writer.request('index', {});
    const switchMs = Date.now() - t0;
    expect(r, switchMs <= 10_000, `branch switch: converged after ${switchMs} ms`);

    // Bursts of stash, pop and checkout while runs are asked for as a file watcher would.
    r.tried++;
    git(root, 'init', '-q', '-b', 'main');
    git(root, 'add', '-A');
    git(root, 'commit', '-q', '-m', 'base');
    const rand = seeded(99);
    const runs: Promise<unknown>[] = [];
    for (let burst = 0; burst < 6; burst++) {
      for (let n = 0; n < 300; n++) {
        const i = rand(BRANCH_FILES);
        if (i % 10 !== 0) writeFileSync(path.join(root, 'jobs', `job${i}.py`), jobFile(i, `burst${burst}`));
      }
      runs.push(writer.request('index', {}));
      git(root, 'stash', '-q');
      runs.push(writer.request('index', {}));
      git(root, 'stash', 'pop', '-q');
      git(root, 'checkout', '-q', '-b', `topic${burst}`);
      git(root, 'commit', '-q', '-am', `burst ${burst}`);
      runs.push(writer.request('index', {}));
      git(root, 'checkout', '-q', '-');
      await sleep(rand(300));
    }
    const lastChange = Date.now();
    await Promise.all(runs.map((p) => p.catch(() => undefined)));
    await writer.request('index', {});
    const settleMs = Date.now() - lastChange;
    expect(r, settleMs <= 10_000, `stash/checkout bursts: converged ${settleMs} ms after the last change`);
    await writer.dispose();
    await reader.dispose();

    const clean = path.join(s.dir, 'clean');
    const builder = workerOn(root, clean);
    await builder.request('index', {});
    await builder.dispose();
    const diff = compareIndexes(await readIndex(indexDir), await readIndex(clean));
    expect(r, diff.length === 0, `after the switches and bursts the index differs from a clean build: ${diff.join('; ')}`);
    r.figures = { 'second window sees a commit after (median ms)': median(seen), 'second writer was told': JSON.stringify(second.slice(0, 120)), 'branch switch of 2,000 files converged (ms)': switchMs, 'bursts converged after the last change (ms)': settleMs, 'files in the tree': readdirSync(path.join(root, 'jobs')).length };
  } finally {
    await writer.dispose();
    await reader.dispose();
    s.dispose();
  }
  return r;
}
