import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { Engine } from '../../src/core/engine';
import { BUNDLED_MODELS, PROJECT_ROOT } from '../helpers/paths';
import { tempTree } from '../helpers/tempTree';
import { compareIndexes, copyCorpus, readIndex } from '../reliability/harness';

/**
 * The index's files that hold what was indexed (the run's own record holds times and a pid), by
 * name; a keyword file's name is drawn at random when written, so it reads as one name here, and
 * the manifest's creation time is left out.
 */
function storedBytes(indexDir: string): Map<string, Buffer> {
  const sameName = (s: string) => s.replace(/keywords-[0-9a-f]+\.bin/g, 'keywords.bin');
  const files = readdirSync(indexDir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name !== 'last-run.json' && !e.name.endsWith('.lock'))
    .map((e) => path.relative(indexDir, path.join(e.parentPath, e.name)));
  return new Map(
    files.map((f) => {
      let bytes = readFileSync(path.join(indexDir, f));
      if (f === 'manifest.json') bytes = Buffer.from(JSON.stringify({ ...JSON.parse(bytes.toString('utf8')), createdAt: undefined }));
      return [sameName(f), f.endsWith('.json') ? Buffer.from(sameName(bytes.toString('utf8'))) : bytes] as const;
    }).sort(([a], [b]) => a.localeCompare(b)),
  );
}

describe('the index does not depend on where files are parsed', () => {
  test('a real corpus parsed inline, on one parsing thread, or on a pool of two or three, gives the same store byte for byte', async () => {
    const t = tempTree();
    try {
      const corpus = path.join(t.root, 'corpus');
      copyCorpus(corpus);
      const entry = path.join(PROJECT_ROOT, 'src', 'core', 'index', 'parseThread.ts');
      const ways: Record<string, number | undefined> = { inline: undefined, '1 thread': 1, '2 threads': 2, '3 threads': 3 };
      const warnings = new Map<string, string[]>();
      for (const [way, parseThreads] of Object.entries(ways)) {
        const engine = await Engine.open({
          bundledModelsDir: BUNDLED_MODELS,
          modelCacheDir: path.join(t.root, 'models'),
          threads: 1,
          roots: [{ root: corpus, indexDir: path.join(t.root, way) }],
          env: {},
          ...(parseThreads ? { parseThreadEntry: entry, parseThreads } : {}),
        });
        try {
          assert.equal(engine.parseThreadError, undefined);
          // Small batches and a short window: many batches in flight and files spread over every lane.
          const summary = await [...engine.roots.values()][0]!.index({ batchSize: 16, parseAhead: 24 });
          assert.ok(summary.chunksTotal > 1000, `${way}: ${summary.chunksTotal} chunks`);
          warnings.set(way, summary.warnings);
        } finally {
          await engine.dispose();
        }
      }
      const inline = await readIndex(path.join(t.root, 'inline'));
      assert.ok(inline.files.size > 100, `${inline.files.size} files`);
      const inlineBytes = storedBytes(path.join(t.root, 'inline'));
      assert.ok(inlineBytes.size >= 3, [...inlineBytes.keys()].join(', '));
      for (const way of Object.keys(ways).slice(1)) {
        assert.deepEqual(warnings.get(way), warnings.get('inline'), way);
        assert.deepEqual(compareIndexes(await readIndex(path.join(t.root, way)), inline), [], way);
        const bytes = storedBytes(path.join(t.root, way));
        assert.deepEqual([...bytes.keys()], [...inlineBytes.keys()], way);
        for (const [f, b] of bytes) assert.ok(b.equals(inlineBytes.get(f)!), `${way}: ${f} differs from the inline build's`);
      }
    } finally {
      t.dispose();
    }
  });
});
