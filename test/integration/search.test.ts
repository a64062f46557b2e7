import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { MEANING_WEIGHT } from '../../src/core/dupes/shape';
import { indexModelId } from '../../src/core/embed/modelInfo';
import { Engine } from '../../src/core/engine';
import { BUNDLED_MODELS, ENCODER_MODEL } from '../helpers/paths';
import { fixtureCopy } from '../helpers/tempTree';

/** The engine on one root with the real bundled model, the index beside the root in `dir`, no hub. */
const openEngine = (dir: string, root: string, model?: string) =>
  Engine.open({ ...(model ? { model } : {}), bundledModelsDir: BUNDLED_MODELS, modelCacheDir: path.join(dir, 'models'), threads: 1, roots: [{ root, indexDir: path.join(dir, 'index') }], env: {} });

// The real bundled model on a real fixture repository: plain-English questions must put the
// intended function first.
describe('search with the bundled model', () => {
  let dir: string;
  let engine: Engine;
  let root: string;

  before(async () => {
    ({ dir, root } = fixtureCopy('nearby-it-'));
    engine = await openEngine(dir, root);
    const summary = await engine.roots.get(root)!.index();
    assert.equal(summary.filesIndexed, 9, JSON.stringify(summary));
    assert.equal(summary.filesSkipped['binary'], 1, 'docs/logo.dat is binary');
    assert.equal(summary.filesSkipped['ignored'], 1, 'debug.log is gitignored');
  });

  after(async () => {
    await engine?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  const cases: [string, string, string][] = [
    ['retry failed uploads with exponential backoff', 'src/uploads.py', 'retry_upload'],
    ['read the application configuration from a json file', 'src/settings.py', 'load_config'],
    ['check whether an email address is valid', 'src/validation.ts', 'isValidEmail'],
    ['least recently used cache that evicts old entries', 'src/lruCache.ts', 'LruCache'],
    ['compute the sha256 checksum of a file', 'lib/checksum.go', 'FileChecksum'],
    ['turn a title into a url slug', 'lib/slug.rb', 'slugify'],
    ['multiply two matrices', 'lib/Matrix.java', 'multiply'],
    ['split text into lowercase words', 'tools/words.rs', 'split_words'],
    // The guide is small enough to be one chunk, named by its title.
    ['how do I apply database schema migrations', 'docs/guide.md', 'Project guide'],
  ];
  for (const [query, file, symbol] of cases) {
    test(`"${query}" → ${file} ${symbol}`, async () => {
      const { hits } = await engine.search(query, { k: 3 });
      const top = hits[0]!;
      assert.equal(top.path, file, `got ${hits.map((h) => `${h.path}:${h.symbol}@${h.score.toFixed(3)}`).join(', ')}`);
      assert.ok(top.symbol?.includes(symbol), `symbol ${top.symbol} should name ${symbol}`);
      assert.ok(top.score > 0 && top.score <= 1.0001);
    });
  }

  test('filters narrow results by language and kind', async () => {
    const { hits: docs } = await engine.search('install dependencies', { k: 5, filter: { kind: 'doc' } });
    assert.ok(docs.length > 0 && docs.every((h) => h.kind === 'doc'));
    const { hits: go } = await engine.search('checksum', { k: 5, filter: { languages: ['go'] } });
    assert.ok(go.length > 0 && go.every((h) => h.language === 'go'));
  });

  test('find similar leaves out the selection itself', async () => {
    const { hits } = await engine.similar(root, 'src/uploads.py', 9, 19, { k: 5 });
    assert.ok(hits.length > 0);
    assert.ok(hits.every((h) => !(h.path === 'src/uploads.py' && h.startLine <= 19 && h.endLine >= 9)));
  });

  test('find similar ranks by meaning and shape together: a renamed copy first, with both scores', async () => {
    // Unsaved editor text: human_size with its names changed, placed in another file.
    const copy = 'def readable(n):\n    for u in ["B", "KB", "MB", "GB"]:\n        if n < 1024:\n            return f"{n:.1f} {u}"\n        n /= 1024\n    return f"{n:.1f} TB"\n';
    const { hits } = await engine.similar(root, 'src/settings.py', 1, 6, { k: 5, text: copy });
    assert.equal(hits[0]?.symbol, 'human_size', JSON.stringify(hits.map((h) => h.symbol)));
    assert.ok(hits[0]!.shapeScore! > 0.3, `shape ${hits[0]!.shapeScore}`);
    for (const h of hits) assert.ok(Math.abs(h.score - (MEANING_WEIGHT * h.vectorScore! + (1 - MEANING_WEIGHT) * h.shapeScore!)) < 1e-6);
    assert.deepEqual(hits.map((h) => h.score), hits.map((h) => h.score).sort((a, b) => b - a));
  });
});

// Find Similar, like search, puts implementation first: a test's copy of the selection ranks
// below a source variant it outscores, unless the selection is in a test itself.
describe('find similar and file roles', () => {
  test('ranks tests lower for a selection in source, not for one in a test', async () => {
    const { dir, root } = fixtureCopy('nearby-it-roles-');
    const sizes = readFileSync(path.join(root, 'src', 'uploads.py'), 'utf8').split('\n').slice(20, 27).join('\n');
    writeFileSync(path.join(root, 'src', 'sizes.py'), `${sizes}\n`);
    mkdirSync(path.join(root, 'tests'));
    writeFileSync(path.join(root, 'tests', 'test_sizes.py'), `${sizes}\n`);
    writeFileSync(path.join(root, 'src', 'units.py'), `${sizes.replace('human_size', 'readable_size')}\n`);
    const engine = await openEngine(dir, root);
    try {
      await engine.roots.get(root)!.index();
      const fromSource = (await engine.similar(root, 'src/sizes.py', 1, 7, { k: 5 })).hits;
      const place = (p: string) => fromSource.findIndex((h) => h.path === p);
      const test = fromSource[place('tests/test_sizes.py')]!;
      const variant = fromSource[place('src/units.py')]!;
      assert.equal(test.role, 'test');
      assert.ok(test.score > variant.score, `the test's copy scores higher (${test.score} vs ${variant.score})`);
      assert.ok(place('tests/test_sizes.py') > place('src/units.py'), JSON.stringify(fromSource.map((h) => h.path)));
      const fromTest = (await engine.similar(root, 'tests/test_sizes.py', 1, 7, { k: 5 })).hits;
      assert.ok(['src/sizes.py', 'src/uploads.py'].includes(fromTest[0]!.path), JSON.stringify(fromTest.map((h) => h.path)));
    } finally {
      await engine.dispose();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// A file indexed and then removed (or made unreadable) before the watcher catches up: Find
// Similar leaves its matches out and says so instead of ranking them without their shape.
describe('find similar and a candidate that cannot be read', () => {
  test('leaves its matches out and says which file', async () => {
    const { dir, root } = fixtureCopy('nearby-it-gone-');
    const sizes = readFileSync(path.join(root, 'src', 'uploads.py'), 'utf8').split('\n').slice(20, 27).join('\n');
    writeFileSync(path.join(root, 'src', 'sizes.py'), `${sizes}\n`);
    writeFileSync(path.join(root, 'src', 'units.py'), `${sizes.replace('human_size', 'readable_size')}\n`);
    const engine = await openEngine(dir, root);
    try {
      await engine.roots.get(root)!.index();
      const before = await engine.similar(root, 'src/sizes.py', 1, 7, { k: 5 });
      assert.ok(before.hits.some((h) => h.path === 'src/units.py'), JSON.stringify(before.hits.map((h) => h.path)));
      assert.equal(before.degraded, undefined);
      rmSync(path.join(root, 'src', 'units.py'));
      const after = await engine.similar(root, 'src/sizes.py', 1, 7, { k: 5 });
      assert.ok(after.hits.length > 0 && after.hits.every((h) => h.path !== 'src/units.py'), JSON.stringify(after.hits.map((h) => h.path)));
      assert.match(after.degraded ?? '', /1 match was left out: src\/units\.py could not be read/);
    } finally {
      await engine.dispose();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// Two windows on one folder: the second opens the same index, cannot write while the first does,
// and still sees the first one's edits (vectors and keywords) on its next search.
describe('a second process on the same folder', () => {
  test('sees what the writer indexed after it opened', async () => {
    const { dir, root } = fixtureCopy('nearby-it-');
    const writer = await openEngine(dir, root);
    const reader = await openEngine(dir, root);
    try {
      await writer.roots.get(root)!.index();
      writeFileSync(path.join(root, 'src', 'invoices.py'), 'def render_invoice_pdf(invoice):\n    """Render an invoice as a PDF document with line items and totals."""\n    pages = layout(invoice.lines)\n    return pdf_bytes(pages)\n');
      await writer.roots.get(root)!.index();
      await new Promise((r) => setTimeout(r, 1100));
      const { hits } = await reader.search('render invoice pdf document', { k: 3 });
      assert.equal(hits[0]?.path, 'src/invoices.py', JSON.stringify(hits.map((h) => h.path)));
      const { hits: keywords } = await reader.search('render_invoice_pdf', { k: 1, mode: 'lexical' });
      assert.equal(keywords[0]?.path, 'src/invoices.py', 'the keyword side knows the new file too');
    } finally {
      await reader.dispose();
      await writer.dispose();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// Switching the model: the old index is not searched with the new model's vectors; status says
// why the index looks empty until the next run rebuilds it, and the rebuild clears that.
describe('an index built with another model', () => {
  let dir: string;
  let root: string;

  before(() => ({ dir, root } = fixtureCopy('nearby-it-switch-')));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('is reported as pending a rebuild, then rebuilt with the new model', async () => {
    const small = await openEngine(dir, root, 'nearby-code-small');
    await small.roots.get(root)!.index();
    assert.equal(small.roots.get(root)!.status().pendingRebuild, undefined);
    const switched = `model ${indexModelId(small.embedder.info)} → nearby-code-base`;
    await small.dispose();

    const base = await openEngine(dir, root, ENCODER_MODEL);
    try {
      const index = base.roots.get(root)!;
      assert.equal(index.status().pendingRebuild, switched);
      assert.equal(index.status().chunks, 0);
      assert.deepEqual((await base.search('retry failed uploads', { k: 3 })).hits, []);
      const summary = await index.index();
      assert.equal(summary.rebuiltBecause, switched);
      assert.equal(index.status().pendingRebuild, undefined);
      assert.equal(index.status().modelId, 'nearby-code-base');
      assert.equal((await base.search('retry failed uploads with exponential backoff', { k: 1 })).hits[0]?.path, 'src/uploads.py');
    } finally {
      await base.dispose();
    }
  });
});

// A process that opens an index (the CLI, a new window) searches both sides at once: the keyword
// index is read from disk with the vectors. An index from before keyword files existed says so.
describe('the keyword side after reopening', () => {
  let dir: string;
  let root: string;
  const query = 'retry failed uploads with exponential backoff';

  before(async () => {
    ({ dir, root } = fixtureCopy('nearby-it-reopen-'));
    const first = await openEngine(dir, root);
    await first.roots.get(root)!.index();
    await first.dispose();
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('a new process ranks hybrid at once, as the process that indexed did', async () => {
    const engine = await openEngine(dir, root);
    try {
      const answer = await engine.search(query, { k: 5 });
      assert.equal(answer.mode, 'hybrid');
      assert.equal(answer.degraded, undefined);
      assert.ok(answer.hits.some((h) => h.matched?.includes('backoff')), 'keyword matches are there');
      const lexical = await engine.search('exponential backoff', { k: 3, mode: 'lexical' });
      assert.equal(lexical.hits[0]?.path, 'src/uploads.py');
    } finally {
      await engine.dispose();
    }
  });

  test('an index without keyword files ranks by meaning, says so, and recovers', async () => {
    for (const shard of readdirSync(path.join(dir, 'index', 'shards'))) {
      const file = path.join(dir, 'index', 'shards', shard, 'index.json');
      writeFileSync(file, readFileSync(file, 'utf8').replace(/,"keywords":"keywords-[0-9a-f]+\.bin"/, ''));
    }
    const engine = await openEngine(dir, root);
    try {
      const answer = await engine.search(query, { k: 5 });
      if (answer.mode === 'vector') assert.match(answer.degraded ?? '', /ranked by meaning only: the keyword index .* is being rebuilt/);
      else assert.match(answer.degraded ?? '', /keyword side incomplete/, 'reading the files again may already have begun');
      // Reading the files again takes a moment, not an index run.
      let later = answer;
      for (let i = 0; i < 50 && later.degraded; i++) {
        await new Promise((r) => setTimeout(r, 100));
        later = await engine.search(query, { k: 5 });
      }
      assert.equal(later.mode, 'hybrid');
      assert.equal(later.degraded, undefined);
      // The next index run writes the keyword files: a new process has them.
      await engine.roots.get(root)!.index();
    } finally {
      await engine.dispose();
    }
    const again = await openEngine(dir, root);
    try {
      const answer = await again.search(query, { k: 5 });
      assert.deepEqual([answer.mode, answer.degraded], ['hybrid', undefined]);
    } finally {
      await again.dispose();
    }
  });
});
