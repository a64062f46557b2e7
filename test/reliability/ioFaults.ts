/**
 * I/O faults: a full disk, a read-only index folder, files and folders the user may not read,
 * files that vanish or change under the indexer, the index folder deleted while it is written.
 * Each must end in a clear message and an index that is still consistent. Permission checks run
 * the CLI as an unprivileged user (uid 65534) when the suite runs as root, who may read anything.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, cpSync, existsSync, mkdirSync, readdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import type { IndexSummary } from '../../src/core/index/progress';
import type { WorkerEvent } from '../../src/worker/client';
import { compareIndexes, copyCorpus, expect, fileDiff, readIndex, row, runCli, scratch, seeded, sleep, workerOn, type IndexImage, type Row } from './harness';

const NOBODY = 65534;
const isRoot = process.getuid?.() === 0;
const stackTrace = /\n\s+at .+\(/;

async function cleanBuild(root: string, indexDir: string): Promise<IndexImage> {
  const client = workerOn(root, indexDir);
  try {
    await client.request('index', {});
  } finally {
    await client.dispose();
  }
  return readIndex(indexDir);
}

/** Every file the index holds is as a clean build has it (the index may hold fewer). */
function consistentWith(image: IndexImage, reference: IndexImage): string[] {
  return [...image.files].flatMap(([p, f]) => fileDiff(p, f, reference.files.get(p), image.keywordGaps === 0) ?? []).slice(0, 5);
}

function chownTree(dir: string, uid: number): void {
  chownSync(dir, uid, uid);
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) chownTree(p, uid);
    else chownSync(p, uid, uid);
  }
}

export async function ioFaultRow(): Promise<Row> {
  const r = row('I/O faults', 'disk full, read-only index folder, unreadable files and folders, files vanishing mid-run, index folder deleted mid-run: a clear message, a consistent index');
  const s = scratch('io');
  chmodSync(s.dir, 0o755);
  const root = path.join(s.dir, 'repo');
  copyCorpus(root);
  const skipped: string[] = [];
  try {
    const reference = await cleanBuild(root, path.join(s.dir, 'clean'));

    // Disk full: the index folder is a tmpfs smaller than the index.
    if (isRoot) {
      r.tried++;
      const small = path.join(s.dir, 'small');
      mkdirSync(small);
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=700k', 'tmpfs', small]);
      try {
        const client = workerOn(root, small);
        let message = '';
        try {
          const summary = (await client.request('index', {}))[root]!;
          message = summary.warnings.join('\n');
        } catch (err) {
          message = (err as Error).message;
        } finally {
          await client.dispose();
        }
        expect(r, /no space|ENOSPC|disk is full/i.test(message) && !stackTrace.test(message), `disk full: unclear message: ${message.slice(0, 300) || 'none'}`);
        const image = await readIndex(small);
        expect(r, image.droppedShards.length === 0, `disk full: shards left unreadable: ${image.droppedShards.join(', ')}`);
        const torn = consistentWith(image, reference);
        expect(r, torn.length === 0, `disk full: the index is inconsistent: ${torn.join('; ')}`);
        // With room again, one run completes it.
        const roomy = path.join(s.dir, 'roomy');
        cpSync(small, roomy, { recursive: true });
        const after = await cleanBuild(root, roomy);
        const diff = compareIndexes(after, reference);
        expect(r, diff.length === 0, `disk full: with room again, the index differs from a clean build: ${diff.join('; ')}`);
        r.figures = { ...r.figures, 'files committed before the disk was full': image.files.size, 'disk full said': JSON.stringify(message.slice(0, 160)) };
      } finally {
        execFileSync('umount', [small]);
      }
    } else skipped.push('disk full (mounting a tmpfs needs root)');

    if (isRoot) {
      // A read-only index folder: indexing says why it cannot write; searching an index there still works.
      r.tried++;
      const readOnly = path.join(s.dir, 'clean');
      const indexRun = await runCli(['index', root, '--index-dir', readOnly], { uid: NOBODY, env: { HOME: s.dir } });
      expect(r, indexRun.code !== 0 && /permission denied|EACCES|read-only|cannot write/i.test(indexRun.stderr) && !stackTrace.test(indexRun.stderr), `read-only index folder: exit ${indexRun.code}, said: ${indexRun.stderr.slice(0, 300)}`);
      const search = await runCli(['search', 'retry a failed upload with exponential backoff', '--root', root, '--index-dir', readOnly, '--json'], { uid: NOBODY, env: { HOME: s.dir } });
      const hits = search.code === 0 ? (JSON.parse(search.stdout) as { hits: { path: string }[] }).hits : [];
      expect(r, hits.some((h) => h.path === 'app/src/uploads.py'), `read-only index folder: a search fails (exit ${search.code}: ${search.stderr.slice(0, 200)})`);

      // Files and folders the user may not read are skipped, named, and the rest indexed.
      r.tried++;
      const mine = path.join(s.dir, 'mine');
      cpSync(root, mine, { recursive: true });
      chownTree(mine, NOBODY);
      chmodSync(path.join(mine, 'app', 'src', 'uploads.py'), 0o000);
      chmodSync(path.join(mine, 'lib'), 0o000);
      const indexDir = path.join(s.dir, 'mine-index');
      mkdirSync(indexDir);
      chownSync(indexDir, NOBODY, NOBODY);
      const run = await runCli(['index', mine, '--index-dir', indexDir, '--json'], { uid: NOBODY, env: { HOME: s.dir } });
      const summary = run.code === 0 ? (JSON.parse(run.stdout) as IndexSummary) : undefined;
      expect(r, summary !== undefined, `unreadable files: the index run failed (exit ${run.code}: ${run.stderr.slice(0, 200)})`);
      if (summary) {
        expect(r, (summary.filesSkipped['unreadable'] ?? 0) >= 2, `unreadable files: not counted as unreadable: ${JSON.stringify(summary.filesSkipped)}`);
        const notes = summary.warnings.join('\n');
        expect(r, notes.includes('uploads.py') && notes.includes('lib'), `unreadable files: the notes do not name them: ${notes.slice(0, 300)}`);
        const libFiles = [...reference.files.keys()].filter((p) => p.startsWith('lib/')).length;
        expect(r, summary.chunksTotal > 0 && (await readIndex(indexDir)).files.size === reference.files.size - 1 - libFiles, 'unreadable files: the readable files are not all indexed');
      }
    } else skipped.push('read-only index folder and unreadable files (permissions do not bind root; run as root to test them as another user)');

    // Files vanishing, appearing and changing while the indexer reads them.
    r.tried++;
    const churnRoot = path.join(s.dir, 'churn');
    cpSync(root, churnRoot, { recursive: true });
    const generated = (i: number, gen: number) => `def task_${i}(queue):\n    """Take job ${i} (version ${gen}) from the queue and run it."""\n    return queue.pop(${gen})\n`;
    mkdirSync(path.join(churnRoot, 'jobs'));
    for (let i = 0; i < 2000; i++) writeFileSync(path.join(churnRoot, 'jobs', `job${i}.py`), generated(i, 0));
    const rand = seeded(7);
    let churned = 0;
    let churning = true;
    const churn = (async () => {
      while (churning) {
        for (let n = 0; n < 20; n++) {
          const f = path.join(churnRoot, 'jobs', `job${rand(2200)}.py`);
          const what = rand(3);
          try {
            if (what === 0) unlinkSync(f);
            else writeFileSync(f, what === 1 ? generated(rand(99), rand(9)) : 'x = 1\n'.repeat(rand(50)));
            churned++;
          } catch {
            // already gone
          }
        }
        await sleep(2);
      }
    })();
    const churnIndex = path.join(s.dir, 'churn-index');
    const events: WorkerEvent[] = [];
    const client = workerOn(churnRoot, churnIndex, { events });
    let vanished = 0;
    try {
      const first = (await client.request('index', {}))[churnRoot]!;
      vanished = first.filesSkipped['vanished'] ?? 0;
      churning = false;
      await churn;
      await client.request('index', {});
    } catch (err) {
      expect(r, false, `files changing mid-run: ${(err as Error).message}`);
    } finally {
      churning = false;
      await churn;
      await client.dispose();
    }
    expect(r, !events.some((e) => e.type === 'restarting' || e.type === 'gave-up'), 'files changing mid-run: the worker crashed');
    const settled = compareIndexes(await readIndex(churnIndex), await cleanBuild(churnRoot, path.join(s.dir, 'churn-clean')));
    expect(r, settled.length === 0, `files changing mid-run: after one more run the index differs from a clean build: ${settled.join('; ')}`);
    r.figures = { ...r.figures, 'files changed mid-run': churned, 'reported vanished': vanished };

    // The index folder deleted while a run writes it.
    r.tried++;
    const doomed = path.join(s.dir, 'doomed');
    const deleting = workerOn(root, doomed, { events });
    try {
      await deleting.start();
      const run = deleting.request('index', {});
      await sleep(400);
      rmSync(doomed, { recursive: true, force: true });
      const said = await run.then(
        (res) => res[root]!.warnings.join('\n'),
        (err: Error) => err.message,
      );
      expect(r, !stackTrace.test(said), `index folder deleted: a stack trace reached the user: ${said.slice(0, 300)}`);
      r.figures = { ...r.figures, 'index folder deleted, the run said': JSON.stringify(said.slice(0, 160)) };
      // The same worker (the extension keeps its worker) indexes again and the disk holds it all.
      await deleting.request('index', {});
    } catch (err) {
      expect(r, false, `index folder deleted: ${(err as Error).message}`);
    } finally {
      await deleting.dispose();
    }
    const rebuilt = existsSync(path.join(doomed, 'manifest.json')) ? await readIndex(doomed) : undefined;
    const diff = rebuilt ? compareIndexes(rebuilt, reference) : ['no index on disk'];
    expect(r, diff.length === 0, `index folder deleted: the next run in the same worker does not restore the index: ${diff.join('; ')}`);
    if (skipped.length > 0) r.figures = { ...r.figures, 'not run': skipped.join('; ') };
  } finally {
    s.dispose();
  }
  return r;
}
