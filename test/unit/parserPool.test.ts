import assert from 'node:assert/strict';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Chunker } from '../../src/core/chunk';
import { loadTokenCounter } from '../../src/core/embed/embedder';
import { IdleStoppingParser, InlineParser, ThreadParser, type FileParser, type ParsedFile } from '../../src/core/index/fileParser';
import { nextLane, ParserPool } from '../../src/core/index/parserPool';
import type { TokenCounter } from '../../src/core/types';
import { BUNDLED_MODELS, FIXTURE_REPO } from '../helpers/paths';

const FILES = ['src/lruCache.ts', 'src/uploads.py', 'src/settings.py', 'src/validation.ts', 'lib/Matrix.java', 'lib/checksum.go', 'lib/slug.rb', 'tools/words.rs', 'docs/guide.md', 'docs/logo.dat'];

/** A real parser that records how many files it holds at once. */
class WatchedParser implements FileParser {
  held = 0;
  mostHeld = 0;
  parsed = 0;

  constructor(private readonly inner: FileParser) {}

  async parse(absPath: string, relPath: string, maxBytes: number): Promise<ParsedFile> {
    this.mostHeld = Math.max(this.mostHeld, ++this.held);
    // Let the other lanes' files start before this one ends, as on threads.
    await new Promise((r) => setImmediate(r));
    try {
      return await this.inner.parse(absPath, relPath, maxBytes);
    } finally {
      this.held--;
      this.parsed++;
    }
  }

  dispose(): Promise<void> {
    return this.inner.dispose();
  }
}

describe('the pool of parsing threads', () => {
  let chunker: Chunker;
  let tokens: TokenCounter;
  before(async () => {
    chunker = await Chunker.create();
    tokens = await loadTokenCounter({ dir: path.join(BUNDLED_MODELS, 'nearby-code-small'), source: 'bundled' });
  });
  after(() => chunker.dispose());

  const inline = () => new InlineParser(chunker, tokens, { maxTokens: 256 });
  const many = FILES.flatMap((f) => [f, f, f, f, f]);
  const parseAll = (p: FileParser) => Promise.all(many.map((f) => p.parse(path.join(FIXTURE_REPO, f), f, 1 << 20)));

  test('gives every file what one parser gives it, spread over every lane and no more than its share held by any', async () => {
    const expected = await parseAll(inline());
    const lanes = [0, 1, 2].map(() => new WatchedParser(inline()));
    const pool = new ParserPool(lanes, 4);
    try {
      assert.deepEqual(await parseAll(pool), expected);
      assert.ok(lanes.every((l) => l.parsed > 5), lanes.map((l) => l.parsed).join(' '));
      assert.equal(lanes.reduce((n, l) => n + l.parsed, 0), many.length);
      assert.ok(lanes.every((l) => l.mostHeld <= 4), lanes.map((l) => l.mostHeld).join(' '));
    } finally {
      await pool.dispose();
    }
  });

  test('a lane whose thread will not start is closed and its files go to the others', async () => {
    const expected = await parseAll(inline());
    const missing = path.join(FIXTURE_REPO, 'no-such-parse-thread.js');
    const broken = new IdleStoppingParser(() => ThreadParser.start(missing, { model: { dir: path.join(BUNDLED_MODELS, 'nearby-code-small'), source: 'bundled' }, settings: { maxTokens: 256 } }), undefined);
    const working = new WatchedParser(inline());
    const pool = new ParserPool([working, broken], 4);
    try {
      assert.deepEqual(await parseAll(pool), expected);
      assert.equal(working.parsed, many.length);
      assert.equal(pool.failures.length, 1);
      assert.match(pool.failures[0]!, /no-such-parse-thread|Cannot find|exited/);
    } finally {
      await pool.dispose();
    }
  });

  test('hands the next file to the lane holding fewest, skipping full lanes and the one embedding', () => {
    assert.equal(nextLane([2, 1, 3], 4), 1);
    assert.equal(nextLane([1, 1, 1], 4), 0);
    assert.equal(nextLane([4, 4, 3], 4), 2);
    assert.equal(nextLane([4, 4, 4], 4), -1);
    assert.equal(nextLane([0, 2, 2], 4, 0), 1);
    assert.equal(nextLane([0], 4, 0), -1);
  });
});
