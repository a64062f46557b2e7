import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { defaultDupeOptions, DupeIndex, indexedSource, type DupeGroup } from '../../src/core/dupes';
import { Engine } from '../../src/core/engine';
import type { RootIndex } from '../../src/core/rootIndex';
import { BUNDLED_MODELS, PROJECT_ROOT } from '../helpers/paths';

const FIXTURE = path.join(PROJECT_ROOT, 'test', 'fixtures', 'dupes');

/** Groups with a member in each of the given files. */
function groupsWith(groups: DupeGroup[], ...files: string[]): DupeGroup[] {
  return groups.filter((g) => files.every((f) => g.members.some((m) => m.path === f)));
}

/** Bumps mtime so a rewrite within the same millisecond still counts as a change. */
function touchLater(file: string, seconds: number): void {
  const t = new Date(Date.now() + seconds * 1000);
  utimesSync(file, t, t);
}

describe('near-duplicate groups (real model, real index on disk)', () => {
  let dir: string;
  let root: string;
  let engine: Engine;
  let index: RootIndex;
  let dupes: DupeIndex;
  let groups: DupeGroup[];

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'nearby-dupes-'));
    root = path.join(dir, 'repo');
    cpSync(FIXTURE, root, { recursive: true });
    engine = await Engine.open({ bundledModelsDir: BUNDLED_MODELS, modelCacheDir: path.join(dir, 'models'), threads: 1, roots: [{ root, indexDir: path.join(dir, 'index') }] });
    index = [...engine.roots.values()][0]!;
    await index.index();
    dupes = new DupeIndex(defaultDupeOptions(engine.embedder.info));
    await dupes.update(indexedSource(index.root, index.contents));
    groups = dupes.groups();
  });
  after(async () => {
    await engine?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a renamed and lightly edited copy is a textual group with the verbatim copy', () => {
    const [group, ...others] = groupsWith(groups, 'src/billing/invoices.ts', 'src/shipping/parcels.ts');
    assert.ok(group, JSON.stringify(groups, null, 1));
    assert.equal(others.length, 0, 'one group, not one per pair');
    assert.equal(group.kind, 'textual');
    assert.deepEqual(group.members.map((m) => m.path).sort(), ['src/billing/invoices.ts', 'src/billing/legacyInvoices.ts', 'src/shipping/parcels.ts']);
    // The whole function, from its signature to its closing brace, across the added log line.
    const parcels = group.members.find((m) => m.path === 'src/shipping/parcels.ts')!;
    assert.deepEqual([parcels.start, parcels.end], [3, 22]);
    const legacy = group.members.find((m) => m.path === 'src/billing/legacyInvoices.ts')!;
    assert.deepEqual([legacy.start, legacy.end], [4, 22]);
    // The verbatim copy is exact, the renamed one is not.
    const invoices = group.members.find((m) => m.path === 'src/billing/invoices.ts')!;
    const exact = [legacy, invoices].find((m) => m.similarity === 1);
    assert.ok(exact, 'the centre or its verbatim copy has similarity 1');
    assert.ok(parcels.similarity < 1 && parcels.similarity > 0.5, `renamed copy similarity ${parcels.similarity}`);
    assert.ok(group.members.every((m) => m.kind === 'textual'));
  });

  test('a rewritten equivalent is a semantic group at the shipped threshold', () => {
    const found = groupsWith(groups, 'src/billing/retry.ts', 'src/shipping/resend.ts');
    assert.equal(found.length, 1, JSON.stringify(groups, null, 1));
    const [group] = found;
    assert.equal(group!.kind, 'semantic');
    assert.ok(group!.score >= defaultDupeOptions(engine.embedder.info).threshold);
    assert.ok(group!.members.every((m) => m.kind === 'semantic'));
    // Token matching alone does not see it: the semantic detector earns its keep here.
    assert.equal(groups.filter((g) => g.kind === 'textual' && g.members.some((m) => m.path.endsWith('resend.ts'))).length, 0);
  });

  test('licence headers, import blocks and getter/setter lists are not grouped', () => {
    const boilerplate = groups.filter((g) => g.members.some((m) => m.path.startsWith('src/models/')));
    assert.deepEqual(boilerplate, []);
  });

  test('groups are ranked by impact: lines times members', () => {
    for (const g of groups) assert.equal(g.impact, g.lines * g.members.length);
    for (let i = 1; i < groups.length; i++) assert.ok(groups[i - 1]!.impact >= groups[i]!.impact, `${groups[i - 1]!.impact} before ${groups[i]!.impact}`);
    const big = groups.findIndex((g) => g.members.some((m) => m.path === 'src/billing/legacyInvoices.ts'));
    const small = groups.findIndex((g) => g.members.some((m) => m.path === 'src/shipping/labels.ts'));
    assert.ok(big >= 0 && small >= 0, JSON.stringify(groups, null, 1));
    assert.equal(big, 0, 'three copies of twenty lines come first');
    assert.ok(small > big);
  });

  test('every member of a group is similar to its centre, and no file region appears twice in a group', () => {
    for (const g of groups) {
      assert.equal(g.members[0]!.similarity, 1);
      for (const m of g.members.slice(1)) assert.ok(m.similarity > 0 && m.similarity <= 1);
      for (const [i, a] of g.members.entries()) {
        for (const b of g.members.slice(i + 1)) assert.ok(a.path !== b.path || a.end < b.start || b.end < a.start, `${a.path} overlaps itself in ${g.id}`);
      }
    }
  });

  test('a higher --min-lines drops the smaller clone', async () => {
    const strict = new DupeIndex({ ...defaultDupeOptions(engine.embedder.info), minLines: 10 });
    await strict.update(indexedSource(index.root, index.contents));
    const got = strict.groups();
    assert.equal(groupsWith(got, 'src/shipping/labels.ts').length, 0);
    assert.equal(groupsWith(got, 'src/billing/invoices.ts', 'src/shipping/parcels.ts').length, 1);
  });

  test('Find Similar labels its hits with the same detectors: clones, near-duplicates, and merely similar code', async () => {
    const copied = await engine.similar(root, 'src/billing/invoices.ts', 4, 22, { k: 10 });
    const verbatim = copied.hits.find((h) => h.path === 'src/billing/legacyInvoices.ts');
    assert.equal(verbatim?.likeness?.kind, 'textual', JSON.stringify(copied.hits));
    assert.ok(verbatim!.likeness!.similarity > 0.95 && verbatim!.likeness!.lines >= 18, JSON.stringify(verbatim!.likeness));
    const labelled = copied.hits.filter((h) => h.likeness).map((h) => `${h.path}:${h.likeness!.kind}`);
    assert.ok(labelled.every((l) => l === 'src/billing/legacyInvoices.ts:textual' || l === 'src/shipping/parcels.ts:textual'), `only the copies are labelled: ${labelled.join(', ')}`);
    assert.ok(copied.hits.some((h) => !h.likeness), 'merely similar hits carry no label');
    assert.deepEqual(copied.range, { path: 'src/billing/invoices.ts', startLine: 4, endLine: 22 });

    const rewritten = await engine.similar(root, 'src/billing/retry.ts', 2, 2, { k: 5 });
    assert.ok(rewritten.range.startLine <= 2 && rewritten.range.endLine >= 10, `an empty selection stands for the function around the cursor: ${JSON.stringify(rewritten.range)}`);
    const resend = rewritten.hits.find((h) => h.path === 'src/shipping/resend.ts');
    assert.equal(resend?.likeness?.kind, 'semantic', JSON.stringify(rewritten.hits));
    assert.ok(resend!.likeness!.similarity >= defaultDupeOptions(engine.embedder.info).threshold);
  });

  // Last: it edits the copied fixture.
  test('an edit recomputes only the groups of the changed file, and undoing it comes from the cache', async () => {
    const labels = path.join(root, 'src', 'shipping', 'labels.ts');
    const original = readFileSync(labels, 'utf8');
    const before = new Map(dupes.groups().map((g) => [g.id, g]));
    const labelGroup = groupsWith(dupes.groups(), 'src/shipping/labels.ts')[0]!;
    assert.ok(labelGroup);

    writeFileSync(labels, 'export function formatLabel(name: string): string {\n  return name.trim();\n}\n');
    touchLater(labels, 5);
    await index.index();
    const edited = await dupes.update(indexedSource(index.root, index.contents));
    assert.equal(edited.filesChanged, 1);
    assert.equal(edited.groupsRecomputed, 0, 'the only group of that file is gone and nothing replaced it');
    const after = dupes.groups();
    assert.equal(after.length, before.size - 1);
    for (const g of after) assert.equal(before.get(g.id), g, `group ${g.id} was rebuilt although it does not touch labels.ts`);

    writeFileSync(labels, original);
    touchLater(labels, 10);
    await index.index();
    const undone = await dupes.update(indexedSource(index.root, index.contents));
    assert.equal(undone.filesChanged, 1);
    assert.equal(undone.filesFromCache, 1);
    assert.equal(undone.groupsRecomputed, 1);
    const restored = dupes.groups();
    assert.equal(restored.length, before.size);
    assert.ok(restored.some((g) => g.id === labelGroup.id), 'the same members give the same group id');
    for (const g of restored) if (g.id !== labelGroup.id) assert.equal(before.get(g.id), g);
  });
});
