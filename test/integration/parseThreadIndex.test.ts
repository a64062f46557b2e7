import assert from 'node:assert/strict';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { Engine } from '../../src/core/engine';
import { BUNDLED_MODELS, PROJECT_ROOT } from '../helpers/paths';
import { tempTree } from '../helpers/tempTree';
import { compareIndexes, copyCorpus, readIndex } from '../reliability/harness';

describe('the index does not depend on where files are parsed', () => {
  test('a real corpus parsed on the indexing thread alone, or shared between it and the parsing thread, gives the same store', async () => {
    const t = tempTree();
    try {
      const corpus = path.join(t.root, 'corpus');
      copyCorpus(corpus);
      const ways = { inline: undefined, thread: path.join(PROJECT_ROOT, 'src', 'core', 'index', 'parseThread.ts') };
      for (const [way, parseThreadEntry] of Object.entries(ways)) {
        const engine = await Engine.open({
          bundledModelsDir: BUNDLED_MODELS,
          modelCacheDir: path.join(t.root, 'models'),
          threads: 1,
          roots: [{ root: corpus, indexDir: path.join(t.root, way) }],
          env: {},
          ...(parseThreadEntry ? { parseThreadEntry } : {}),
        });
        try {
          assert.equal(engine.parseThreadError, undefined);
          const summary = await [...engine.roots.values()][0]!.index();
          assert.ok(summary.chunksTotal > 1000, `${way}: ${summary.chunksTotal} chunks`);
        } finally {
          await engine.dispose();
        }
      }
      const inline = await readIndex(path.join(t.root, 'inline'));
      const threaded = await readIndex(path.join(t.root, 'thread'));
      assert.ok(inline.files.size > 100, `${inline.files.size} files`);
      assert.deepEqual(compareIndexes(threaded, inline), []);
    } finally {
      t.dispose();
    }
  });
});
