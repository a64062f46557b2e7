import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { dupesJson } from '../../src/dupesOutput';
import { WorkerClient, WorkerError } from '../../src/worker/client';
import { BUNDLED_MODELS, PROJECT_ROOT, WORKER_SOURCE } from '../helpers/paths';

describe('dupes through the worker', () => {
  let dir: string;
  let root: string;
  let client: WorkerClient;

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'nearby-dupes-worker-'));
    root = path.join(dir, 'repo');
    cpSync(path.join(PROJECT_ROOT, 'test', 'fixtures', 'dupes'), root, { recursive: true });
    client = new WorkerClient({
      workerPath: WORKER_SOURCE,
      execArgv: ['--import', 'tsx'],
      config: { bundledModelsDir: BUNDLED_MODELS, modelCacheDir: path.join(dir, 'models'), threads: 1, roots: [{ root, indexDir: path.join(dir, 'index') }] },
    });
    await client.request('index', {});
  });
  after(async () => {
    await client?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a dupes request answers with the groups of the folder, and the CLI JSON has exactly the documented fields', async () => {
    const [report, ...more] = await client.request('dupes', { root });
    assert.equal(more.length, 0);
    assert.equal(report!.root, root);
    assert.equal(report!.options.threshold, 0.92);
    assert.ok(report!.groups.some((g) => g.kind === 'textual') && report!.groups.some((g) => g.kind === 'semantic'));
    assert.equal(report!.total, report!.groups.length);

    const rows = JSON.parse(dupesJson([report!])) as Record<string, unknown>[];
    assert.equal(rows.length, report!.groups.length);
    for (const row of rows) {
      assert.deepEqual(Object.keys(row), ['id', 'kind', 'score', 'members']);
      for (const m of row['members'] as Record<string, unknown>[]) assert.deepEqual(Object.keys(m), ['path', 'start', 'end']);
    }
  });

  test('options and limit are applied; an unknown folder and a malformed request are refused', async () => {
    const [limited] = await client.request('dupes', { root, limit: 1, kinds: ['textual'] });
    assert.equal(limited!.groups.length, 1);
    assert.ok(limited!.total >= 2);
    assert.ok(limited!.groups.every((g) => g.kind === 'textual'));
    await assert.rejects(client.request('dupes', { root: path.join(dir, 'elsewhere') }), /not an indexed folder/);
    await assert.rejects(client.request('dupes', { root, threshold: 2 } as never), (err: unknown) => err instanceof WorkerError && err.code === 'bad-request');
  });
});
