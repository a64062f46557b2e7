import assert from 'node:assert/strict';
import { existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { WorkerClient, WorkerError, type WorkerEvent } from '../../src/worker/client';
import { BUNDLED_MODELS, WORKER_SOURCE } from '../helpers/paths';
import { fixtureCopy } from '../helpers/tempTree';

const FILES = 3000;

/** True once the worker has committed at least one shard to disk. */
function committed(indexDir: string): boolean {
  const shards = path.join(indexDir, 'shards');
  return existsSync(shards) && readdirSync(shards).some((d) => existsSync(path.join(shards, d, 'index.json')));
}

describe('worker process', () => {
  let dir: string;
  let root: string;

  before(() => {
    ({ dir, root } = fixtureCopy('nearby-worker-'));
    // Enough files that the run outlasts its first commit, so a kill lands between commits.
    for (let i = 0; i < FILES; i++) {
      writeFileSync(path.join(root, 'src', `generated_${i}.py`), `def handler_${i}(event):\n    """Handle event number ${i} and return its id."""\n    return event.get("id", ${i})\n`);
    }
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  function client(events: WorkerEvent[] = [], model?: string): WorkerClient {
    return new WorkerClient({
      workerPath: WORKER_SOURCE,
      execArgv: ['--import', 'tsx'],
      restartDelayMs: 100,
      config: { ...(model ? { model } : {}), bundledModelsDir: BUNDLED_MODELS, modelCacheDir: path.join(dir, 'models'), threads: 1, roots: [{ root, indexDir: path.join(dir, 'index') }] },
      onEvent: (e) => events.push(e),
    });
  }

  test('a worker killed mid-index is restarted and the run completes', async () => {
    const events: WorkerEvent[] = [];
    const c = client(events);
    try {
      await c.start();
      let killed = false;
      const done = c.request('index', {});
      const firstPid = c.pid;
      // Pausing mid-run commits what is done (the indexer flushes before it waits), so the kill
      // lands between a commit and the end however fast this machine indexes.
      let paused = false;
      const killedMidRun = new Promise<void>((resolve) => {
        const timer = setInterval(() => {
          const last = events.filter((e) => e.type === 'progress').at(-1);
          const midRun = last?.type === 'progress' && last.progress.phase === 'indexing' && last.progress.filesDone > 0 && last.progress.filesDone < last.progress.filesTotal;
          if (midRun && !paused) {
            paused = true;
            c.pause();
          }
          if (paused && committed(path.join(dir, 'index')) && !killed) {
            killed = true;
            process.kill(firstPid!, 'SIGKILL');
            clearInterval(timer);
            resolve();
          }
        }, 5);
      });
      const finishedFirst = done.then(() => {
        if (!killed) assert.fail('the run finished before it could be killed');
      });
      await Promise.race([killedMidRun, finishedFirst]);
      const results = await done;
      const summary = results[root]!;
      assert.ok(events.some((e) => e.type === 'restarting' && /SIGKILL/.test(e.reason)), 'restart was announced');
      assert.notEqual(c.pid, firstPid);
      assert.equal(summary.cancelled, false);
      // Files committed before the kill are not indexed again.
      assert.ok(summary.filesUnchanged > 0, `unchanged after restart: ${summary.filesUnchanged}`);
      const status = await c.request('status', {});
      assert.equal(status.roots[0]!.files, FILES + 9);
      // The memory report: the index's structures and the worker process, in bytes.
      const memory = status.roots[0]!.memory;
      assert.equal(memory.chunkRecords, status.roots[0]!.chunks);
      assert.ok(memory.vectorTableBytes >= memory.chunkRecords * status.model!.dimension && memory.keywordIndexBytes > 0, JSON.stringify(memory));
      assert.ok(status.worker.rss > memory.vectorTableBytes && status.worker.heapUsed > 0, JSON.stringify(status.worker));
      const { hits } = await c.request('search', { query: 'retry failed uploads', k: 1 });
      assert.equal(hits[0]!.path, 'src/uploads.py');
    } finally {
      await c.dispose();
    }
  });

  // The CLI, the panel and QuickPick send the same query with their own options (preview size,
  // an empty filter from the panel's unset fields): the ranking must not depend on them.
  test('the CLI, the panel and QuickPick get the same ranking for the same query', async () => {
    const c = client();
    try {
      await c.start();
      for (const query of ['retry failed uploads with backoff', 'handle event number', 'how do I apply database schema migrations']) {
        const cli = await c.request('search', { query, k: 10, previewLines: 3, mode: 'hybrid', include: [] });
        const panel = await c.request('search', { query, k: 10, previewLines: 12, filter: {} });
        const pick = await c.request('search', { query, k: 10, previewLines: 12 });
        const order = (r: typeof cli) => r.hits.map((h) => `${h.path}:${h.startLine}-${h.endLine}`);
        assert.ok(cli.hits.length > 0, query);
        assert.deepEqual(order(panel), order(cli), query);
        assert.deepEqual(order(pick), order(cli), query);
        assert.deepEqual(panel.hits.map((h) => h.band), cli.hits.map((h) => h.band), 'and the same bands');
      }
    } finally {
      await c.dispose();
    }
  });

  test('a missing model folder is a clear error, not a crash loop', async () => {
    const events: WorkerEvent[] = [];
    const c = client(events, path.join(dir, 'no-such-model'));
    try {
      await assert.rejects(c.start(), (err: unknown) => err instanceof WorkerError && err.code === 'model-missing' && /no config\.json/.test(err.message));
      assert.ok(!events.some((e) => e.type === 'restarting'));
    } finally {
      await c.dispose();
    }
  });

  test('a hub model while offline says how to use a local folder', async () => {
    const c = new WorkerClient({
      workerPath: WORKER_SOURCE,
      execArgv: ['--import', 'tsx'],
      // A closed local port stands in for an unreachable hub, so the test never leaves the machine.
      env: { ...process.env, NEARBY_HF_ENDPOINT: 'http://127.0.0.1:9' },
      config: { model: 'Xenova/all-MiniLM-L6-v2', bundledModelsDir: BUNDLED_MODELS, modelCacheDir: path.join(dir, 'hub-cache'), threads: 1, roots: [] },
    });
    try {
      await assert.rejects(c.start(), (err: unknown) => err instanceof WorkerError && /model-offline|model-download-failed/.test(err.code) && /nearby\.modelPath/.test(err.message));
    } finally {
      await c.dispose();
    }
  });
});
