import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isMinor } from '../../src/core/chunk';
import { rankChunks } from '../../src/core/search/rank';
import { IndexStore } from '../../src/core/store/indexStore';
import type { StoredChunk } from '../../src/core/store/records';
import { tempTree } from '../helpers/tempTree';
import { randomUnitVectors } from '../helpers/vectors';

describe('chunks without substance', () => {
  test('imports, licence headers and a word or two are minor; code is not', () => {
    assert.ok(isMinor(['import os', 'from whoosh.matching import mcore, wrappers,', '    binary)', '', 'import numpy as np']));
    assert.ok(isMinor(['# Copyright 2009 Matt Chaput. All rights reserved.', '#', '# Redistribution and use in source and binary forms...']));
    assert.ok(isMinor(["const fs = require('fs');", "const { join } = require('path');", "#include <stdio.h>"]));
    assert.ok(isMinor(['module.exports = Router']), 'three words of code');
    assert.ok(!isMinor(['def retry(fn, attempts):', '    for i in range(attempts):', '        return fn()']));
    assert.ok(!isMinor(['_char_map = re.compile("^" + _char + "->" + _char + "$")']));
  });

  test('rank after chunks of substance by meaning, and keep the mark on disk', async () => {
    const t = tempTree();
    try {
      const identity = { modelId: 'm', dimension: 16, chunkerVersion: 1 };
      const [v] = randomUnitVectors(1, 16, 3);
      const chunk = (p: string, minor: boolean): StoredChunk => ({ path: p, startLine: 1, endLine: 3, language: 'python', kind: 'code', hash: p, ...(minor ? { minor: true } : {}) });
      const { store } = await IndexStore.open(t.root, identity, 2);
      // The minor chunk is a hair closer to the query: its mark still puts it second.
      const near = Float32Array.from(v!, (x, i) => (i === 0 ? x + 0.01 : x));
      store.putFile('a_imports.py', { mtimeMs: 1, size: 1 }, [chunk('a_imports.py', true)], [v!]);
      store.putFile('b_code.py', { mtimeMs: 1, size: 1 }, [chunk('b_code.py', false)], [normalized(near)]);
      await store.flush();
      const { store: reopened } = await IndexStore.open(t.root, identity, 2);
      assert.equal(reopened.chunksOf('a_imports.py')[0]!.minor, true);
      assert.equal(reopened.chunksOf('b_code.py')[0]!.minor, undefined);
      const hits = rankChunks(reopened, 'query', v!, { k: 2, mode: 'vector' });
      assert.deepEqual(hits.map((h) => h.path), ['b_code.py', 'a_imports.py']);
      assert.ok(hits[1]!.score > hits[0]!.score, 'scores stay the cosines');
    } finally {
      t.dispose();
    }
  });
});

function normalized(v: Float32Array): Float32Array {
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
}
