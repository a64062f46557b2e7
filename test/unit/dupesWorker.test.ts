import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
    // Two copies of one test setup: a test group, listed after every source group.
    const setup = `import { Invoice } from '../src/billing/invoices';\n\nexport function makeInvoices(count: number): Invoice[] {\n  const invoices: Invoice[] = [];\n  for (let i = 0; i < count; i++) {\n    invoices.push({ id: \`inv-\${i}\`, total: 100 + i, currency: 'EUR', lines: [], issuedAt: new Date(2024, 0, 1 + i) });\n  }\n  return invoices;\n}\n`;
    mkdirSync(path.join(root, 'test'), { recursive: true });
    writeFileSync(path.join(root, 'test', 'invoices.test.ts'), setup);
    writeFileSync(path.join(root, 'test', 'receipts.test.ts'), setup.replace('makeInvoices', 'makeReceiptInvoices'));
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
    const model = JSON.parse(readFileSync(path.join(BUNDLED_MODELS, 'nearby-code-small', 'nearby.json'), 'utf8')) as { dupeThreshold?: number };
    assert.equal(report!.options.threshold, model.dupeThreshold ?? 0.92, "the model's own near-duplicate threshold");
    assert.ok(report!.groups.some((g) => g.kind === 'textual') && report!.groups.some((g) => g.kind === 'semantic'));
    assert.equal(report!.total, report!.groups.length);

    const rows = JSON.parse(dupesJson([report!])) as Record<string, unknown>[];
    assert.equal(rows.length, report!.groups.length);
    for (const row of rows) {
      assert.deepEqual(Object.keys(row), ['id', 'kind', 'role', 'score', 'members']);
      for (const m of row['members'] as Record<string, unknown>[]) assert.deepEqual(Object.keys(m), ['path', 'start', 'end']);
    }
  });

  test('source groups come first, and a role filter keeps only its groups', async () => {
    const [report] = await client.request('dupes', { root });
    const roles = report!.groups.map((g) => g.role);
    assert.ok(roles.includes('test') && roles.includes('source'), roles.join(' '));
    assert.equal(roles.lastIndexOf('source') < roles.indexOf('test'), true, `order: ${roles.join(' ')}`);
    const [tests] = await client.request('dupes', { root, roles: ['test'] });
    assert.ok(tests!.groups.length > 0 && tests!.groups.every((g) => g.role === 'test' && g.members.every((m) => m.path.startsWith('test/'))));
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
