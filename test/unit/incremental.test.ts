import assert from 'node:assert/strict';
import { renameSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Chunker } from '../../src/core/chunk';
import { runIndex } from '../../src/core/index/indexer';
import { IndexStore } from '../../src/core/store/indexStore';
import { CountingEmbedder } from '../helpers/countingEmbedder';
import { tempTree } from '../helpers/tempTree';

const SOURCE = `import json
import os


def load_config(path):
    """Read the configuration file, falling back to defaults for missing keys."""
    with open(path) as f:
        config = json.load(f)
    config.setdefault("port", 8080)
    config.setdefault("host", "localhost")
    return config


def save_config(path, config):
    """Write the configuration file atomically, so readers never see half of it."""
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(config, f, indent=2, sort_keys=True)
    os.replace(tmp, path)


def merge_configs(base, override):
    """Merge two configurations, the second one winning."""
    result = dict(base)
    for key, value in override.items():
        if value is not None:
            result[key] = value
    result.update(override)
    return result
`;

describe('incremental indexing', () => {
  let chunker: Chunker;
  before(async () => (chunker = await Chunker.create()));
  after(() => chunker.dispose());

  async function setup() {
    const tree = tempTree({ 'app/config.py': SOURCE, 'README.md': '# App\n\nReads and writes configuration files.\n' });
    const embedder = new CountingEmbedder();
    const indexDir = path.join(tree.root, '.index');
    const open = async () => (await IndexStore.open(indexDir, { modelId: 'counting', dimension: 8, chunkerVersion: 1 })).store;
    const index = async () => runIndex({ root: tree.root, store: await open(), embedder, chunker, scan: { exclude: ['.index/**'] } });
    return { tree, embedder, index, open };
  }

  /** Bumps mtime so a rewrite within the same millisecond still counts as a change. */
  function touchLater(file: string) {
    const t = new Date(Date.now() + 5_000);
    utimesSync(file, t, t);
  }

  test('a second run with no change embeds nothing', async () => {
    const { tree, embedder, index } = await setup();
    try {
      const first = await index();
      assert.ok(first.chunksNew >= 2, `expected chunks, got ${JSON.stringify(first)}`);
      const before = embedder.embedded.length;
      const second = await index();
      assert.equal(embedder.embedded.length, before);
      assert.equal(second.filesUnchanged, 2);
      assert.equal(second.chunksNew + second.chunksChanged, 0);
    } finally {
      tree.dispose();
    }
  });

  test('editing one function embeds exactly that chunk', async () => {
    const { tree, embedder, index } = await setup();
    try {
      await index();
      const before = embedder.embedded.length;
      const file = tree.write('app/config.py', SOURCE.replace('result.update(override)', 'result.update(override or {})'));
      touchLater(file);
      const summary = await index();
      const fresh = embedder.embedded.slice(before);
      assert.equal(fresh.length, 1, `embedded: ${JSON.stringify(fresh)}`);
      assert.match(fresh[0]!, /def merge_configs/);
      assert.equal(summary.chunksChanged, 1);
      assert.equal(summary.chunksRemoved, 1);
      assert.equal(summary.filesIndexed, 1);
    } finally {
      tree.dispose();
    }
  });

  test('a renamed file re-uses its vectors; a deleted file drops its chunks', async () => {
    const { tree, embedder, index, open } = await setup();
    try {
      await index();
      const before = embedder.embedded.length;
      renameSync(path.join(tree.root, 'app/config.py'), path.join(tree.root, 'app/settings.py'));
      const renamed = await index();
      assert.equal(embedder.embedded.length, before, 'nothing re-embedded after a rename');
      assert.ok(renamed.chunksReused > 0);
      assert.equal(renamed.filesRemoved, 1);
      rmSync(path.join(tree.root, 'README.md'));
      const deleted = await index();
      assert.equal(deleted.filesRemoved, 1);
      const store = await open();
      assert.deepEqual([...store.paths()], ['app/settings.py']);
    } finally {
      tree.dispose();
    }
  });

  test('a file that turns binary is removed from the index with a note', async () => {
    const { tree, index, open } = await setup();
    try {
      await index();
      writeFileSync(path.join(tree.root, 'README.md'), Buffer.from([0, 1, 2, 3, 0, 0]));
      const summary = await index();
      assert.equal(summary.filesSkipped['binary'], 1);
      assert.ok(summary.warnings.some((w) => w.startsWith('README.md: skipped, binary')));
      assert.deepEqual([...(await open()).paths()], ['app/config.py']);
    } finally {
      tree.dispose();
    }
  });

  test('cancelling keeps the files already committed; the next run completes', async () => {
    const { tree, embedder, index } = await setup();
    try {
      for (let i = 0; i < 30; i++) tree.write(`gen/m${i}.py`, `def f${i}(x):\n    """Function number ${i}."""\n    return x + ${i}\n`);
      const controller = new AbortController();
      const store = (await IndexStore.open(path.join(tree.root, '.index'), { modelId: 'counting', dimension: 8, chunkerVersion: 1 })).store;
      const cancelled = await runIndex(
        { root: tree.root, store, embedder, chunker, scan: { exclude: ['.index/**'] } },
        { signal: controller.signal, batchSize: 4, onProgress: (p) => p.phase === 'indexing' && p.filesDone >= 8 && controller.abort() },
      );
      assert.equal(cancelled.cancelled, true);
      assert.ok(cancelled.filesIndexed > 0 && cancelled.filesIndexed < 32, `indexed ${cancelled.filesIndexed}`);
      const resumed = await index();
      assert.equal(resumed.cancelled, false);
      assert.equal(resumed.filesUnchanged, cancelled.filesIndexed);
      assert.equal(resumed.filesIndexed + resumed.filesUnchanged, 32);
    } finally {
      tree.dispose();
    }
  });
});
