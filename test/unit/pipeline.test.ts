import assert from 'node:assert/strict';
import { existsSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Chunker } from '../../src/core/chunk';
import { IdleStoppingParser, InlineParser, ThreadParser, type FileParser, type ParsedFile } from '../../src/core/index/fileParser';
import { runIndex } from '../../src/core/index/indexer';
import { PauseGate } from '../../src/core/index/pauseGate';
import { IndexStore, type StoreOptions } from '../../src/core/store/indexStore';
import { CountingEmbedder } from '../helpers/countingEmbedder';
import { tempTree } from '../helpers/tempTree';

/** A model that takes its time, so the indexer's overlap of parsing and embedding shows. */
class SlowEmbedder extends CountingEmbedder {
  active = 0;
  maxActive = 0;
  calls = 0;
  largest = 0;
  onCall?: (n: number) => void;

  constructor(private readonly delayMs = 15) {
    super();
  }

  override async embedDocuments(texts: readonly string[]): Promise<Float32Array[]> {
    this.active++;
    this.maxActive = Math.max(this.maxActive, this.active);
    this.calls++;
    this.largest = Math.max(this.largest, texts.length);
    this.onCall?.(this.calls);
    await new Promise((r) => setTimeout(r, this.delayMs));
    this.active--;
    return super.embedDocuments(texts);
  }
}

const FILES = 60;

function tree() {
  const files: Record<string, string> = {};
  for (let i = 0; i < FILES; i++) {
    // Every fifth file is a copy of one template, so identical chunks meet across batches.
    const n = i % 5 === 0 ? 'copied' : String(i);
    files[`src/mod_${String(i).padStart(2, '0')}.py`] = `def handler_${n}(event):\n    """Handle event ${n}."""\n    return event.get("id", "${n}")\n`;
  }
  return sameAge(tempTree(files), files);
}

/** All files modified at one moment, so that the plan reads them in the scan's (path) order. */
function sameAge<T extends { root: string }>(t: T, files: Record<string, string>): T {
  for (const rel of Object.keys(files)) utimesSync(path.join(t.root, rel), MOMENT, MOMENT);
  return t;
}
const MOMENT = new Date('2026-01-01T00:00:00Z');

/**
 * A tree that keeps a slow model busy for seconds: many small files and one with many chunks,
 * which is spread over several batches.
 */
function largeTree() {
  const files: Record<string, string> = {};
  for (let i = 0; i < 300; i++) files[`src/mod_${String(i).padStart(3, '0')}.py`] = `def handler_${i}(event):\n    return event.get("id", "${i}")\n`;
  files['src/big.py'] = Array.from({ length: 60 }, (_, i) =>
    `def step_${i}(state):\n    """Advance the state by step ${i}."""\n` + Array.from({ length: 12 }, (_, j) => `    state["k${i}_${j}"] = state.get("k${j}", ${i * j}) + ${j}\n`).join(''),
  ).join('\n');
  return sameAge(tempTree(files), files);
}

const BIG_FILES = 24;

/** Files too large for the indexing thread to steal from the parsing thread. */
function bigFilesTree() {
  const files: Record<string, string> = {};
  for (let i = 0; i < BIG_FILES; i++) files[`src/big_${String(i).padStart(2, '0')}.py`] = Array.from({ length: 700 }, (_, j) => `def step_${i}_${j}(state):\n    return state + ${j}\n`).join('');
  return sameAge(tempTree(files), files);
}

/** The paths `store` is given, in the order it gets them. */
function commitOrder(store: IndexStore): string[] {
  const order: string[] = [];
  const putFile = store.putFile.bind(store);
  store.putFile = (p, ...rest) => {
    order.push(p);
    putFile(p, ...rest);
  };
  return order;
}

describe('indexing pipeline', () => {
  let chunker: Chunker;
  before(async () => (chunker = await Chunker.create()));
  after(() => chunker.dispose());

  /** Parses in place, and embeds with `embed`: a parser with a model of its own. */
  const embeddingParser = (tokens: CountingEmbedder, embed: FileParser['embed']) => {
    const inline = new InlineParser(chunker, tokens, { maxTokens: tokens.info.maxTokens });
    const parser = {
      releases: 0,
      parse: (absPath: string, relPath: string, maxBytes: number) => inline.parse(absPath, relPath, maxBytes),
      embed,
      release: async () => void parser.releases++,
      dispose: async () => undefined,
    };
    return parser satisfies FileParser;
  };
  /** Stands in for a parsing thread: parses in place once `reply` settles, and records what it was given. */
  const threadLike = (tokens: CountingEmbedder, reply: (relPath: string) => Promise<unknown>) => {
    const inline = new InlineParser(chunker, tokens, { maxTokens: tokens.info.maxTokens });
    const given: string[] = [];
    const parser: FileParser = {
      parse: async (absPath, relPath, maxBytes): Promise<ParsedFile> => {
        given.push(relPath);
        await reply(relPath);
        return inline.parse(absPath, relPath, maxBytes);
      },
      dispose: async () => undefined,
    };
    return { parser, given };
  };
  /** Counts the files parsed, by either thread (both parse with `chunker`), until `stop`. */
  const countParses = () => {
    const counter = { done: 0, stop: () => void Reflect.deleteProperty(chunker, 'chunkFile') };
    const chunkFile = chunker.chunkFile.bind(chunker);
    chunker.chunkFile = async (...args) => {
      const chunks = await chunkFile(...args);
      counter.done++;
      return chunks;
    };
    return counter;
  };
  const open = async (dir: string, options: StoreOptions = {}) => (await IndexStore.open(dir, { modelId: 'counting', dimension: 8, chunkerVersion: 1 }, options)).store;

  test('one batch at a time with the model, every distinct text embedded once, all files stored', async () => {
    const t = tree();
    try {
      const embedder = new SlowEmbedder();
      const store = await open(path.join(t.root, '.index'));
      const summary = await runIndex({ root: t.root, store, embedder, chunker, scan: { exclude: ['.index/**'] } }, { batchSize: 8 });
      assert.equal(embedder.maxActive, 1, 'back-pressure: never two batches with the model');
      assert.ok(embedder.calls > 2, `several batches: ${embedder.calls}`);
      assert.equal(new Set(embedder.embedded).size, embedder.embedded.length, 'no text embedded twice, even across batches in flight');
      assert.equal(summary.filesIndexed, FILES);
      assert.equal(store.fileCount, FILES);
      assert.equal(embedder.embedded.filter((x) => x.includes('handler_copied')).length, 1, 'copies are embedded once and reused');
      assert.equal(summary.chunksReused, FILES / 5 - 1);
      for (let i = 0; i < FILES; i++) assert.ok(store.chunksOf(`src/mod_${String(i).padStart(2, '0')}.py`).length > 0);
    } finally {
      t.dispose();
    }
  });

  test('a parsing thread that will not start again leaves its files to this thread: a warning, and the index a clean build gives', async () => {
    const t = tree();
    try {
      const missing = path.join(t.root, 'no-such-parse-thread.js');
      const parser = new IdleStoppingParser(() => ThreadParser.start(missing, { model: { dir: t.root, source: 'explicit' }, settings: { maxTokens: 256 } }), undefined);
      const store = await open(path.join(t.root, '.index'));
      const summary = await runIndex({ root: t.root, store, embedder: new CountingEmbedder(), chunker, parser, scan: { exclude: ['.index/**', '.plain/**'] } });
      await parser.dispose();
      assert.equal(summary.filesIndexed, FILES);
      assert.equal(summary.warnings.filter((w) => w.startsWith('the parsing thread did not start, so files were parsed on the indexing thread')).length, 1, summary.warnings.join('\n'));
      const plain = await open(path.join(t.root, '.plain'));
      await runIndex({ root: t.root, store: plain, embedder: new CountingEmbedder(), chunker, scan: { exclude: ['.index/**', '.plain/**'] } });
      for (const p of plain.paths()) assert.deepEqual(store.chunksOf(p), plain.chunksOf(p), p);
      assert.equal(store.fileCount, plain.fileCount);
    } finally {
      t.dispose();
    }
  });

  test('files are committed in the order they were read: open editors first, then the most recently modified', async () => {
    const t = tree();
    try {
      const embedder = new SlowEmbedder();
      const store = await open(path.join(t.root, '.index'));
      const order = commitOrder(store);
      const touch = (rel: string, minutesLater: number) => {
        const at = new Date(MOMENT.getTime() + minutesLater * 60_000);
        utimesSync(path.join(t.root, rel), at, at);
      };
      touch('src/mod_03.py', 5);
      touch('src/mod_57.py', 10);
      await runIndex({ root: t.root, store, embedder, chunker, scan: { exclude: ['.index/**'] } }, { batchSize: 4, priority: new Set(['src/mod_42.py']) });
      assert.deepEqual(order.slice(0, 3), ['src/mod_42.py', 'src/mod_57.py', 'src/mod_03.py']);
      const rest = order.slice(3);
      assert.equal(rest.length, FILES - 3);
      assert.deepEqual(rest, [...rest].sort(), 'batches land in the order their files were read');
    } finally {
      t.dispose();
    }
  });

  test('when the parsing thread falls behind, the indexing thread parses files too, and they still land in order', async () => {
    const t = tree();
    try {
      // A busy parsing thread: the same parsing, 20 ms late per file.
      const embedder = new SlowEmbedder();
      const { parser: slowThread, given: byThread } = threadLike(embedder, () => new Promise((r) => setTimeout(r, 20)));
      const store = await open(path.join(t.root, '.index'));
      const order = commitOrder(store);
      const summary = await runIndex({ root: t.root, store, embedder, chunker, parser: slowThread, scan: { exclude: ['.index/**'] } }, { batchSize: 4, parseAhead: 4 });
      assert.equal(summary.filesIndexed, FILES);
      assert.ok(byThread.length < FILES && byThread.length >= 4, `the thread parsed ${byThread.length} of ${FILES}`);
      assert.deepEqual(order, [...order].sort(), 'files land in the order they were planned, whoever parsed them');

      // Whoever parsed a file, it is stored as a plain run stores it.
      const plain = await open(path.join(t.root, '.plain'));
      await runIndex({ root: t.root, store: plain, embedder: new CountingEmbedder(), chunker, scan: { exclude: ['.index/**', '.plain/**'] } });
      for (const p of order) assert.deepEqual(store.chunksOf(p), plain.chunksOf(p), p);
    } finally {
      t.dispose();
    }
  });

  test('a small run after the parsing thread stopped is parsed here instead of starting it again; a large run starts it', async () => {
    const t = tree();
    try {
      const embedder = new CountingEmbedder();
      const { parser: thread, given } = threadLike(embedder, async () => undefined);
      let starts = 0;
      const parser = new IdleStoppingParser(async () => (starts++, thread as unknown as ThreadParser), undefined, 50);
      const store = await open(path.join(t.root, '.index'));
      const run = () => runIndex({ root: t.root, store, embedder, chunker, parser, scan: { exclude: ['.index/**'] } });
      const edit = (n: number) => {
        for (let i = 0; i < n; i++) writeFileSync(path.join(t.root, `src/mod_${String(i).padStart(2, '0')}.py`), `def edited_${i}_${n}(event):\n    return ${i}\n`);
      };
      assert.equal((await run()).filesIndexed, FILES);
      assert.equal(starts, 1, 'the first run starts the thread');
      await new Promise((r) => setTimeout(r, 200));
      assert.ok(parser.stopped, 'stopped when idle');
      const parsedByThread = given.length;
      edit(2);
      assert.equal((await run()).filesIndexed, 2);
      assert.equal(starts, 1, 'two saved files did not start the thread');
      assert.equal(given.length, parsedByThread);
      assert.ok(store.chunksOf('src/mod_01.py').some((c) => c.symbol === 'edited_1_2'), 'the edit is indexed');
      edit(20);
      assert.equal((await run()).filesIndexed, 20);
      assert.equal(starts, 2, 'a larger run starts it again');
      assert.ok(given.length > parsedByThread);
      await parser.dispose();
    } finally {
      t.dispose();
    }
  });

  test('a parsing thread that keeps up parses every file: its replies are read before this thread steals one', async () => {
    const t = tree();
    try {
      // Replies come as the thread's do, as events on the loop, one turn after the request.
      const embedder = new SlowEmbedder(1);
      const { parser: promptThread, given: byThread } = threadLike(embedder, () => new Promise((r) => setImmediate(r)));
      const store = await open(path.join(t.root, '.index'));
      const summary = await runIndex({ root: t.root, store, embedder, chunker, parser: promptThread, scan: { exclude: ['.index/**'] } }, { batchSize: 4, parseAhead: 4 });
      assert.equal(summary.filesIndexed, FILES);
      assert.equal(byThread.length, FILES, `the thread parsed ${byThread.length} of ${FILES}, this thread the rest`);
    } finally {
      t.dispose();
    }
  });

  test("with a model that is not the bottleneck, the parser's model is never loaded, not even once every file is parsed", async () => {
    const t = tree();
    try {
      // Far too short a run for this thread's model to count as the bottleneck.
      const embedder = new SlowEmbedder(5);
      const helperModel = new SlowEmbedder(5);
      const parser = embeddingParser(embedder, (texts) => helperModel.embedDocuments(texts));
      const store = await open(path.join(t.root, '.index'));
      const order = commitOrder(store);
      const summary = await runIndex({ root: t.root, store, embedder, chunker, parser, scan: { exclude: ['.index/**'] } }, { batchSize: 4, parseAhead: 16 });
      assert.equal(summary.filesIndexed, FILES);
      assert.equal(helperModel.calls, 0, `batches: ${embedder.calls} here, ${helperModel.calls} with the parser`);
      assert.equal(parser.releases, 0, 'nothing to unload');
      assert.deepEqual(order, [...order].sort(), 'files land in the order they were planned');
      assert.equal(new Set(embedder.embedded).size, embedder.embedded.length, 'no text embedded twice');
    } finally {
      t.dispose();
    }
  });

  test('while the next file is still being parsed, this thread embeds the parsed files after it; each lands in its turn and is counted once', async () => {
    const t = tree();
    try {
      const embedder = new SlowEmbedder(1);
      let slowParsed = false;
      const { parser } = threadLike(embedder, async (relPath) => {
        await new Promise((r) => (relPath === 'src/mod_02.py' ? setTimeout(r, 300) : setImmediate(r)));
        if (relPath === 'src/mod_02.py') slowParsed = true;
      });
      const callsWhileWaiting: number[] = [];
      embedder.onCall = (n) => !slowParsed && callsWhileWaiting.push(n);
      const store = await open(path.join(t.root, '.index'));
      const order = commitOrder(store);
      const summary = await runIndex({ root: t.root, store, embedder, chunker, parser, scan: { exclude: ['.index/**'] } }, { batchSize: 4, parseAhead: 16 });
      assert.ok(callsWhileWaiting.length >= 2, `batches embedded while src/mod_02.py was parsed: ${callsWhileWaiting.length}`);
      assert.deepEqual(order, [...order].sort(), 'files land in the order they were planned');
      assert.equal(new Set(embedder.embedded).size, embedder.embedded.length, 'no text embedded twice');

      const plain = await open(path.join(t.root, '.plain'));
      const plainSummary = await runIndex({ root: t.root, store: plain, embedder: new CountingEmbedder(), chunker, scan: { exclude: ['.index/**', '.plain/**'] } });
      assert.deepEqual([summary.filesIndexed, summary.chunksNew, summary.chunksReused], [plainSummary.filesIndexed, plainSummary.chunksNew, plainSummary.chunksReused]);
      for (const p of plain.paths()) assert.deepEqual(store.chunksOf(p), plain.chunksOf(p), p);
    } finally {
      t.dispose();
    }
  });

  test('the parsing thread is never handed a long queue of large files', async () => {
    const t = bigFilesTree();
    try {
      const embedder = new SlowEmbedder(1);
      let replied = 0;
      let maxQueued = 0;
      const { parser: slowThread, given } = threadLike(embedder, async () => {
        maxQueued = Math.max(maxQueued, given.length - replied);
        await new Promise((r) => setTimeout(r, 15));
        replied++;
      });
      const store = await open(path.join(t.root, '.index'));
      const order = commitOrder(store);
      const summary = await runIndex({ root: t.root, store, embedder, chunker, parser: slowThread, scan: { exclude: ['.index/**'] } }, { batchSize: 4, parseAhead: 3 });
      assert.equal(summary.filesIndexed, BIG_FILES);
      assert.ok(maxQueued <= 6, `at most twice its window with the thread at once: ${maxQueued}`);
      assert.ok(given.length < BIG_FILES, `this thread parsed some of the rest itself: the thread parsed ${given.length}`);
      assert.deepEqual(order, [...order].sort(), 'files land in the order they were planned');
    } finally {
      t.dispose();
    }
  });

  test('no commit starts once every file is parsed: the final write is close', async () => {
    const t = bigFilesTree();
    const parses = countParses();
    try {
      const embedder = new SlowEmbedder(20);
      const { parser } = threadLike(embedder, () => new Promise((r) => setImmediate(r)));
      const store = await open(path.join(t.root, '.index'));
      const flush = store.flush.bind(store);
      const parsedAtCommits: number[] = [];
      store.flush = () => {
        parsedAtCommits.push(parses.done);
        return flush();
      };
      await runIndex({ root: t.root, store, embedder, chunker, parser, scan: { exclude: ['.index/**'] } }, { batchSize: 4, parseAhead: 3, commitEveryMs: 0 });
      const background = parsedAtCommits.slice(0, -1);
      assert.ok(background.length > 0 && background.every((n) => n < BIG_FILES), `files parsed at each commit: ${parsedAtCommits.join(',')}`);
    } finally {
      parses.stop();
      t.dispose();
    }
  });

  test('with a slow model, the parser embeds too: one batch per model at a time, files land in order and as a plain run stores them', async () => {
    const t = largeTree();
    try {
      const embedder = new SlowEmbedder(25);
      const helperModel = new SlowEmbedder(25);
      const parser = embeddingParser(embedder, (texts) => helperModel.embedDocuments(texts));
      const store = await open(path.join(t.root, '.index'));
      const order = commitOrder(store);
      const summary = await runIndex({ root: t.root, store, embedder, chunker, parser, scan: { exclude: ['.index/**'] } }, { batchSize: 4, parseAhead: 32 });
      assert.equal(summary.filesIndexed, 301);
      assert.ok(helperModel.calls > 5 && embedder.calls > 5, `batches: ${embedder.calls} here, ${helperModel.calls} with the parser`);
      assert.equal(parser.releases, 1, "the parser's model is released when the run ends");
      assert.equal(embedder.maxActive, 1, 'one batch at a time with this thread\'s model');
      assert.equal(helperModel.maxActive, 1, "one batch at a time with the parser's model");
      const embedded = [...embedder.embedded, ...helperModel.embedded];
      assert.equal(new Set(embedded).size, embedded.length, 'no text embedded twice');
      assert.deepEqual(order, [...order].sort(), 'files land in the order they were planned');
      assert.ok(store.chunksOf('src/big.py').length > 4 && Math.max(embedder.largest, helperModel.largest) <= 4, 'the large file spans batches');

      const plain = await open(path.join(t.root, '.plain'));
      await runIndex({ root: t.root, store: plain, embedder: new CountingEmbedder(), chunker, scan: { exclude: ['.index/**', '.plain/**'] } });
      for (const p of plain.paths()) {
        assert.deepEqual(store.chunksOf(p), plain.chunksOf(p), p);
        for (const c of plain.chunksOf(p)) assert.deepEqual(store.vectorFor(c.hash), plain.vectorFor(c.hash), `${p}:${c.startLine}`);
      }
    } finally {
      t.dispose();
    }
  });

  test("when the parser's model fails, this thread embeds that batch and the rest, and says so", async () => {
    const t = largeTree();
    try {
      const embedder = new SlowEmbedder(25);
      let attempts = 0;
      const parser = embeddingParser(embedder, async () => {
        attempts++;
        throw new Error('the model file is damaged');
      });
      const store = await open(path.join(t.root, '.index'));
      const summary = await runIndex({ root: t.root, store, embedder, chunker, parser, scan: { exclude: ['.index/**'] } }, { batchSize: 4, parseAhead: 32 });
      assert.equal(attempts, 1, 'asked once');
      assert.ok(summary.warnings.some((w) => w.includes('the model file is damaged')), summary.warnings.join('\n'));
      assert.equal(summary.filesIndexed, 301);
      assert.equal(new Set(embedder.embedded).size, summary.chunksNew, 'every new text embedded here, once');
      for (const p of store.paths()) for (const c of store.chunksOf(p)) assert.ok(store.vectorFor(c.hash), `${p}:${c.startLine} has its vector`);
    } finally {
      t.dispose();
    }
  });

  test("during a run the store's debounced writes wait, so shards are written at the run's commits only", async () => {
    const t = tree();
    try {
      const embedder = new SlowEmbedder();
      const dir = path.join(t.root, '.index');
      const store = await open(dir, { flushDelayMs: 5 });
      const shardsOnDisk = () => (existsSync(path.join(dir, 'shards')) ? readdirSync(path.join(dir, 'shards')).length : 0);
      const seen: number[] = [];
      // Each batch takes 15 ms, three times the store's delay: without the hold, it would write between them.
      embedder.onCall = () => seen.push(shardsOnDisk());
      await runIndex({ root: t.root, store, embedder, chunker, scan: { exclude: ['.index/**'] } }, { batchSize: 4, commitEveryMs: 60_000 });
      assert.ok(seen.length > 5 && seen.every((n) => n === 0), `shards on disk during the run: ${seen.join(',')}`);
      assert.ok(shardsOnDisk() > 0 && !store.hasUnsavedChanges, 'all written when the run ends');
      store.removeFile('src/mod_01.py');
      for (let i = 0; i < 100 && store.hasUnsavedChanges; i++) await new Promise((r) => setTimeout(r, 10));
      assert.ok(!store.hasUnsavedChanges, 'after the run, changes are written in the background again');
    } finally {
      t.dispose();
    }
  });

  test('cancelling mid-run keeps whole files only, and the next run finishes the rest', async () => {
    const t = tree();
    try {
      const embedder = new SlowEmbedder();
      const dir = path.join(t.root, '.index');
      const abort = new AbortController();
      embedder.onCall = (n) => n === 3 && abort.abort();
      const first = await runIndex({ root: t.root, store: await open(dir), embedder, chunker, scan: { exclude: ['.index/**'] } }, { batchSize: 4, signal: abort.signal });
      assert.ok(first.cancelled);
      assert.ok(first.filesIndexed > 0 && first.filesIndexed < FILES, `partial: ${first.filesIndexed}`);
      const reopened = await open(dir);
      assert.equal(reopened.fileCount, first.filesIndexed, 'what was reported is what is on disk');
      const saved = new Map([...reopened.paths()].map((p) => [p, JSON.stringify(reopened.chunksOf(p))]));
      embedder.onCall = undefined;
      const second = await runIndex({ root: t.root, store: reopened, embedder, chunker, scan: { exclude: ['.index/**'] } }, { batchSize: 4 });
      assert.equal(second.filesUnchanged, first.filesIndexed);
      assert.equal(reopened.fileCount, FILES);
      for (const [p, chunks] of saved) assert.equal(JSON.stringify(reopened.chunksOf(p)), chunks, `${p} was saved whole`);
    } finally {
      t.dispose();
    }
  });

  test('pausing waits for the batch in flight and resumes where it stopped', async () => {
    const t = tree();
    try {
      const embedder = new SlowEmbedder();
      const gate = new PauseGate();
      let pausedAt = -1;
      embedder.onCall = (n) => {
        if (n === 2) {
          gate.pause();
          setTimeout(() => {
            pausedAt = embedder.active;
            gate.resume();
          }, 60);
        }
      };
      const store = await open(path.join(t.root, '.index'));
      const summary = await runIndex({ root: t.root, store, embedder, chunker, scan: { exclude: ['.index/**'] } }, { batchSize: 4, gate });
      assert.equal(pausedAt, 0, 'nothing runs on the model while paused');
      assert.equal(summary.filesIndexed, FILES);
    } finally {
      t.dispose();
    }
  });
});
