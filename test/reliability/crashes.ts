/**
 * The worker killed with SIGKILL at random moments of its work. After every kill the index must
 * open whole with each file in its old or its new state, `status` must say whether the last run
 * finished, and one more index run must leave it equal to a clean build of the same tree: the
 * same chunks, vectors within 1e-6, the same keyword postings and the same answers to 20 queries.
 */
import { appendFileSync, cpSync, readdirSync, readFileSync, renameSync, rmSync, unlinkSync, writeFileSync, mkdirSync } from 'node:fs';
import * as path from 'node:path';
import { readRunRecord } from '../../src/core/store/runRecord';
import type { WorkerClient } from '../../src/worker/client';
import { compareIndexes, copyCorpus, expect, fileDiff, QUERIES, readIndex, row, scratch, searchAll, seeded, workerOn, type IndexImage, type Row } from './harness';

type State = 'A' | 'B';
type Moment = 'first index' | 'update' | 'keyword write' | 'dupes pass';

interface Reference {
  image: IndexImage;
  answers: string[][];
  ms: number;
}

function listFiles(dir: string, base = dir): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? listFiles(path.join(dir, e.name), base) : [path.relative(base, path.join(dir, e.name))]))
    .sort();
}

/** State B of the tree: what a day of work does to it (edits, deletions, renames, new files). */
function mutate(tree: string): void {
  listFiles(tree).forEach((rel, i) => {
    const abs = path.join(tree, rel);
    if (i % 17 === 3) unlinkSync(abs);
    else if (i % 23 === 5) renameSync(abs, abs.replace(/(\.[a-z]+)?$/, (ext) => `-moved${ext}`));
    else if (i % 7 === 0 && /\.(ts|js|py|md)$/.test(rel)) {
      appendFileSync(abs, rel.endsWith('.md') ? `\n\n## Retrying uploads\n\nFailed uploads are retried ${i} times with a growing delay.\n` : `\n\nfunction retryUpload${i}(file, attempts) {\n  // try again after a growing delay\n  return attempts > 0 ? send(file).catch(() => retryUpload${i}(file, attempts - 1)) : Promise.reject(new Error('gave up'));\n}\n`);
    }
  });
  mkdirSync(path.join(tree, 'src', 'added'), { recursive: true });
  for (let i = 0; i < 12; i++) {
    writeFileSync(path.join(tree, 'src', 'added', `queue${i}.py`), `class Queue${i}:\n    """A bounded queue of pending uploads, number ${i}."""\n\n    def push(self, item):\n        if len(self.items) >= self.limit:\n            raise OverflowError("queue ${i} is full")\n        self.items.append(item)\n`);
  }
}

/** Drops the keyword files from the shards' records, as an index written before they existed. */
function stripKeywords(indexDir: string): void {
  const shards = path.join(indexDir, 'shards');
  for (const shard of readdirSync(shards)) {
    const file = path.join(shards, shard, 'index.json');
    try {
      writeFileSync(file, readFileSync(file, 'utf8').replace(/,"keywords":"keywords-[0-9a-f]+\.bin"/, ''));
    } catch {
      // an empty shard has no index.json
    }
  }
}

async function killAfter(client: WorkerClient, work: Promise<unknown>, delayMs: number): Promise<boolean> {
  let finished = false;
  const settled = work.then(
    () => (finished = true),
    () => undefined,
  );
  await Promise.race([settled, new Promise((r) => setTimeout(r, delayMs))]);
  const pid = client.pid;
  if (pid !== undefined) process.kill(pid, 'SIGKILL');
  await settled;
  await client.dispose(1000);
  return finished;
}

/** The first query whose ranking differs from the reference's, with the hits only one of them has. */
function answerDiff(answers: string[][], expected: string[][]): string | undefined {
  const i = answers.findIndex((a, j) => JSON.stringify(a) !== JSON.stringify(expected[j]));
  if (i < 0) return undefined;
  const only = (xs: string[], ys: string[]) => xs.filter((x) => !ys.includes(x)).join(', ') || 'none';
  return `"${QUERIES[i]}" has [${only(answers[i]!, expected[i]!)}] where a clean build has [${only(expected[i]!, answers[i]!)}]`;
}

export async function crashRow(kills: number): Promise<Row> {
  const r = row('crashes', 'kill -9 of the worker: index opens whole, status honest, next run equals a clean build (chunks, vectors 1e-6, keywords, 20 queries)');
  const s = scratch('crash');
  const pristine = path.join(s.dir, 'pristine');
  const tree = path.join(s.dir, 'repo');
  const live = path.join(s.dir, 'index');
  copyCorpus(pristine);
  const setState = (state: State) => {
    rmSync(tree, { recursive: true, force: true });
    cpSync(pristine, tree, { recursive: true });
    if (state === 'B') mutate(tree);
  };
  try {
    const refs = {} as Record<State, Reference>;
    for (const state of ['A', 'B'] as State[]) {
      setState(state);
      const dir = path.join(s.dir, `clean-${state}`);
      const client = workerOn(tree, dir);
      await client.start();
      const t0 = Date.now();
      await client.request('index', {});
      const ms = Date.now() - t0;
      const answers = await searchAll(client);
      await client.dispose();
      refs[state] = { image: await readIndex(dir), answers, ms };
    }
    // How long a dupes pass takes, for when to kill one.
    const probe = workerOn(tree, path.join(s.dir, 'clean-B'));
    await probe.start();
    const d0 = Date.now();
    await probe.request('dupes', {});
    const dupesMs = Date.now() - d0;
    await probe.dispose();

    const rand = seeded(20261207);
    const counts: Record<string, number> = {};
    let state: State = 'B';
    let interrupted = 0;
    for (let k = 0; k < kills; k++) {
      const moment: Moment = k < kills * 0.25 ? 'first index' : k < kills * 0.7 ? 'update' : k < kills * 0.85 ? 'keyword write' : 'dupes pass';
      counts[moment] = (counts[moment] ?? 0) + 1;
      const before = state;
      if (moment === 'first index') {
        rmSync(live, { recursive: true, force: true });
        state = state === 'A' ? 'B' : 'A';
        setState(state);
      } else if (moment === 'update') {
        state = state === 'A' ? 'B' : 'A';
        setState(state);
      } else if (moment === 'keyword write') stripKeywords(live);
      const recordBefore = await readRunRecord(live);
      const client = workerOn(tree, live);
      await client.start();
      const full = refs[state].ms;
      const work = moment === 'dupes pass' ? client.request('dupes', {}) : client.request('index', {});
      const span = moment === 'first index' ? full : moment === 'update' ? full * 0.7 : moment === 'keyword write' ? full * 0.3 : dupesMs;
      const finished = await killAfter(client, work, rand(Math.max(50, Math.round(span * 1.15))));
      // A kill before the run recorded its start (while it waited for the lock) changed nothing; one
      // after it recorded its end (its reply not yet sent) found the run complete.
      const recordAfter = await readRunRecord(live);
      const runCut = !finished && moment !== 'dupes pass' && recordAfter?.startedAt !== recordBefore?.startedAt && recordAfter?.state !== 'complete';
      if (runCut) interrupted++;
      r.tried++;
      const at = `kill ${k + 1} (${moment}${finished ? ', after it finished' : ''})`;

      // 1. The index opens whole; each file is as one of the two builds has it.
      const read = await readIndex(live).catch((err: Error) => err);
      if (read instanceof Error) {
        expect(r, false, `${at}: the index does not open: ${read.message}`);
        continue;
      }
      const opened = read;
      expect(r, opened.droppedShards.length === 0, `${at}: unreadable shards ${opened.droppedShards.join(', ')}`);
      // A file whose keyword entries are not on disk yet (an index from before them) is judged by its chunks and vectors.
      const torn = [...opened.files].filter(([p, f]) => [refs[state].image, refs[before].image].every((ref) => fileDiff(p, f, ref.files.get(p), f.keywords !== '') !== undefined)).map(([p]) => p);
      expect(r, torn.length === 0, `${at}: ${torn.length} files in neither their old nor their new state (${torn.slice(0, 3).join(', ')})`);

      // 2. Status and a search say whether the last run finished.
      const next = workerOn(tree, live);
      try {
        const status = (await next.request('status', {})).roots[0]!;
        expect(r, status.files === opened.files.size, `${at}: status says ${status.files} files, the index holds ${opened.files.size}`);
        const wantState = runCut ? 'interrupted' : finished || recordBefore || recordAfter?.state === 'complete' ? 'complete' : undefined;
        expect(r, status.lastRun?.state === wantState, `${at}: status says the last run is ${status.lastRun?.state ?? 'unknown'}, expected ${wantState}`);
        if (runCut) {
          const answer = await next.request('search', { query: 'retry a failed upload', k: 3 });
          expect(r, /did not finish/.test(answer.degraded ?? ''), `${at}: a search does not say the index is incomplete (degraded: ${answer.degraded ?? 'none'})`);
        }
        // 3. One more run converges to a clean build.
        await next.request('index', {});
        const answers = await searchAll(next);
        const differs = answerDiff(answers, refs[state].answers);
        if (differs) {
          // Whether the live worker's memory or the index on disk holds what differs.
          const fresh = workerOn(tree, live);
          const fromDisk = answerDiff(await searchAll(fresh), refs[state].answers);
          await fresh.dispose();
          expect(r, false, `${at}: the 20 queries answer otherwise than on a clean build: ${differs}; a fresh worker on this index ${fromDisk ? `also: ${fromDisk}` : 'answers as the clean build'}`);
        }
        const after = (await next.request('status', {})).roots[0]!;
        expect(r, after.lastRun?.state === 'complete', `${at}: after a full run, status says ${after.lastRun?.state}`);
      } catch (err) {
        expect(r, false, `${at}: ${(err as Error).message}`);
      } finally {
        await next.dispose();
      }
      const converged = await readIndex(live);
      expect(r, converged.keywordGaps === 0, `${at}: ${converged.keywordGaps} files without keywords after a full run`);
      const diff = compareIndexes(converged, refs[state].image);
      expect(r, diff.length === 0, `${at}: after one more run the index differs from a clean build: ${diff.join('; ')}`);
    }
    r.figures = { kills, 'runs cut mid-way': interrupted, ...Object.fromEntries(Object.entries(counts).map(([m, n]) => [`kills during ${m}`, n])), 'chunks in a clean build': [...refs.A.image.files.values()].reduce((n, f) => n + f.vectors.length, 0) };
  } finally {
    s.dispose();
  }
  return r;
}
