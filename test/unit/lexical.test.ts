import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { TermReceiver, TermSender } from '../../src/core/index/fileParser';
import { codeTerms, fileTerms, looksLikeIdentifier, queryTerms, stem } from '../../src/core/search/codeTokens';
import { fuseRankings } from '../../src/core/search/hybrid';
import { LexicalIndex } from '../../src/core/search/lexicalIndex';
import { PostingPool, SATURATED_TF } from '../../src/core/search/postingPool';
import { TermTable } from '../../src/core/search/termTable';
import type { ScoredChunk, StoredChunk } from '../../src/core/store/records';
import { compileFilter, KthLargest } from '../../src/core/store/vectorTable';

function chunk(path: string, startLine: number, symbol?: string, language = 'python'): StoredChunk {
  return { path, startLine, endLine: startLine + 5, language, kind: language === 'markdown' ? 'doc' : 'code', hash: `${path}:${startLine}`, ...(symbol ? { symbol } : {}) };
}

describe('code tokenizer', () => {
  test('terms are found word by word as the pattern of words describes, whatever the text', () => {
    const texts = ['retryUpload(client, MAX_RETRIES=3); $el.on_click 12abc a1b2 x__y', 'naïve café = HTTPServer2xx;\n\t$$ _ __init__ 007 ' + 'z'.repeat(70) + ' end', ''];
    for (const text of texts) {
      const byWord = [...text.matchAll(/[A-Za-z_$][A-Za-z0-9_$]*|\d+/g)].flatMap((m) => codeTerms(m[0]));
      assert.deepEqual(codeTerms(text), byWord, text);
    }
    assert.deepEqual(codeTerms('retryUpload MAX_RETRIES'), ['retryupload', 'retry', 'upload', 'maxretries', 'max', 'retry']);
  });

  test('identifiers are kept whole and split into their parts', () => {
    assert.deepEqual(codeTerms('retryUpload'), ['retryupload', 'retry', 'upload']);
    assert.deepEqual(codeTerms('MAX_RETRIES'), ['maxretries', 'max', 'retry']);
    assert.deepEqual(codeTerms('HTTPServer2'), ['httpserver2', 'http', 'server', '2']);
    assert.deepEqual(codeTerms('parse_json_file'), ['parsejsonfile', 'parse', 'json', 'file']);
  });

  test('the three spellings of one identifier share a term', () => {
    const whole = (s: string) => codeTerms(s)[0];
    assert.equal(whole('retry_upload'), whole('retryUpload'));
    assert.equal(whole('RetryUpload'), whole('retryUpload'));
  });

  test('light stemming meets plural and tense, and leaves short words alone', () => {
    assert.equal(stem('uploads'), 'upload');
    assert.equal(stem('retries'), 'retry');
    assert.equal(stem('retried'), 'retry');
    assert.equal(stem('failed'), 'fail');
    assert.equal(stem('running'), 'run');
    assert.equal(stem('class'), 'class');
    assert.equal(stem('status'), 'status');
    assert.equal(stem('bus'), 'bus');
  });

  test("a file's terms: each distinct term once, per chunk which ones and how often", () => {
    const texts = ['retryUpload(retryUpload)', 'def upload(): pass', ''];
    const t = fileTerms(texts);
    const chunkTerms = (c: number) => {
      const out = new Map<string, number>();
      for (let i = t.offsets[c]!; i < t.offsets[c + 1]!; i++) out.set(t.vocabulary[t.ids[i]!]!, t.counts[i]!);
      return out;
    };
    assert.equal(new Set(t.vocabulary).size, t.vocabulary.length, 'no term twice in the vocabulary');
    assert.deepEqual([...chunkTerms(0)], [['retryupload', 2], ['retry', 2], ['upload', 2]]);
    assert.deepEqual([...chunkTerms(1)], [['def', 1], ['upload', 1], ['pass', 1]]);
    assert.equal(chunkTerms(2).size, 0);
    // The same counts as counting each chunk's codeTerms on its own.
    texts.forEach((text, c) => {
      const counted = new Map<string, number>();
      for (const term of codeTerms(text)) counted.set(term, (counted.get(term) ?? 0) + 1);
      assert.deepEqual(chunkTerms(c), counted);
    });
  });

  test('queries drop English stopwords and repeats', () => {
    assert.deepEqual(queryTerms('where do we retry the failed uploads? retry!'), ['retry', 'fail', 'upload']);
  });

  test('names of code are told apart from sentences', () => {
    for (const q of ['parseRange', 'max_retries', 'Engine.open', 'IndexStore', 'chunkFile()', 'LexicalIndex search']) assert.ok(looksLikeIdentifier(q), q);
    for (const q of ['where do we retry failed uploads', 'parse the config file', 'the']) assert.ok(!looksLikeIdentifier(q), q);
  });
});

/** Files given as chunks beside their texts, as most callers have them. */
function put(index: LexicalIndex, path: string, entries: { chunk: StoredChunk; text: string }[]): void {
  index.putFile(path, entries.map((e) => e.chunk), entries.map((e) => e.text));
}

describe('LexicalIndex', () => {
  function build(index = new LexicalIndex()): LexicalIndex {
    put(index, 'src/uploads.py', [
      { chunk: chunk('src/uploads.py', 1, 'retry_upload'), text: 'def retry_upload(client, path):\n    for attempt in range(5):\n        client.put(path)' },
      { chunk: chunk('src/uploads.py', 10, 'human_size'), text: 'def human_size(num_bytes):\n    return f"{num_bytes} B"' },
    ]);
    put(index, 'src/config.py', [{ chunk: chunk('src/config.py', 1, 'load_config'), text: 'def load_config(path):\n    with open(path) as f:\n        return json.load(f)' }]);
    put(index, 'docs/guide.md', [{ chunk: chunk('docs/guide.md', 1, 'Guide > Uploads', 'markdown'), text: '# Uploads\n\nFailed uploads are retried with backoff.' }]);
    return index;
  }

  test('a term a chunk holds hundreds of times counts as often as it occurs (postings store a capped count)', () => {
    const index = new LexicalIndex();
    // Equal lengths, so only the counts differ; on a tie the earlier path would come first.
    put(index, 'a.txt', [{ chunk: chunk('a.txt', 1), text: `${'upload '.repeat(260)}${'retry '.repeat(60)}` }]);
    put(index, 'b.txt', [{ chunk: chunk('b.txt', 1), text: 'upload '.repeat(320) }]);
    put(index, 'c.txt', [{ chunk: chunk('c.txt', 1), text: 'retry later' }]);
    const hits = index.search('upload', 10);
    assert.deepEqual(hits.map((h) => h.chunk.path), ['b.txt', 'a.txt']);
    assert.ok(hits[0]!.score > hits[1]!.score);
  });

  test('ranks by BM25 and says which query terms matched', () => {
    const hits = build().search('retry upload', 10);
    assert.equal(hits[0]!.chunk.symbol, 'retry_upload');
    assert.deepEqual(hits[0]!.matched.sort(), ['retry', 'upload']);
    assert.ok(hits.every((h, i) => i === 0 || h.score <= hits[i - 1]!.score));
    assert.ok(!hits.some((h) => h.chunk.symbol === 'load_config'), 'a chunk with no query term is not a hit');
  });

  test('an identifier query finds its definition whatever the spelling', () => {
    const index = build();
    assert.equal(index.search('loadConfig', 1)[0]!.chunk.symbol, 'load_config');
    assert.equal(index.search('load_config', 1)[0]!.chunk.symbol, 'load_config');
  });

  test('filters apply before the top k is cut', () => {
    const hits = build().search('uploads', 1, compileFilter({ kind: 'doc' }));
    assert.deepEqual(hits.map((h) => h.chunk.path), ['docs/guide.md']);
    const py = build().search('uploads', 10, compileFilter({ pathGlob: 'src/**', languages: ['python'] }));
    assert.ok(py.length > 0 && py.every((h) => h.chunk.path.startsWith('src/')));
    const excluded = build().search('retry upload', 10, compileFilter({ excludeRange: { path: 'src/uploads.py', startLine: 1, endLine: 3 } }));
    assert.ok(!excluded.some((h) => h.chunk.symbol === 'retry_upload'));
  });

  test('the top k, cut from only the best-scoring chunks, is the full ranking\'s prefix, filters and ties included', () => {
    const index = new LexicalIndex();
    // 900 chunks, scores spread by how often they repeat the words, many of them tied.
    for (let i = 0; i < 900; i++) {
      put(index, `f${i % 37}/${i}.txt`, [{ chunk: chunk(`f${i % 37}/${i}.txt`, 1 + (i % 5)), text: `${'upload '.repeat(1 + (i % 7))}${'retry '.repeat(i % 3)}filler text` }]);
    }
    const all = index.search('retry upload', 10_000);
    assert.equal(all.length, 900);
    const rare = (c: StoredChunk) => c.path.startsWith('f3/');
    for (const [k, accept] of [[1, undefined], [10, undefined], [50, undefined], [5, rare], [40, rare]] as const) {
      const expected = all.filter((h) => !accept || accept(h.chunk)).slice(0, k);
      assert.deepEqual(index.search('retry upload', k, accept), expected, `k ${k}${accept ? ', filtered' : ''}`);
    }
  });

  test("a language's name in a query counts for little in code of that language, which seldom names it", () => {
    const index = new LexicalIndex();
    put(index, 'compat.py', [{ chunk: chunk('compat.py', 1), text: 'python compatibility notes for old interpreters' }]);
    put(index, 'rows.py', [{ chunk: chunk('rows.py', 1), text: 'parse csv rows from an open file handle' }]);
    put(index, 'other.py', [{ chunk: chunk('other.py', 1), text: 'format a date for the report header' }]);
    const hits = index.search('csv python', 10);
    assert.equal(hits[0]!.chunk.path, 'rows.py');
    assert.ok(hits[0]!.score > 2 * hits[1]!.score, hits.map((h) => `${h.chunk.path} ${h.score.toFixed(3)}`).join(', '));
    assert.deepEqual(hits[1]!.matched, ['python'], 'the name still matches');
    // Another language's name is content: a Python port of a Java hash says so.
    put(index, 'murmur.py', [{ chunk: chunk('murmur.py', 1), text: 'java compatible murmur hash of a key' }]);
    put(index, 'Murmur.java', [{ chunk: chunk('Murmur.java', 1, undefined, 'java'), text: 'java murmur hash of a key bytes' }]);
    assert.deepEqual(index.search('java murmur', 10).map((h) => h.chunk.path), ['murmur.py', 'Murmur.java']);
  });

  test('a query asked again after a change sees the change', () => {
    const index = build();
    assert.ok(!index.search('retry', 10).some((h) => h.chunk.path === 'src/retry.py'));
    put(index, 'src/retry.py', [{ chunk: chunk('src/retry.py', 1, 'retry'), text: 'def retry(fn):\n    return fn()' }]);
    assert.equal(index.search('retry', 10)[0]!.chunk.path, 'src/retry.py');
    index.removeFile('src/retry.py');
    assert.ok(!index.search('retry', 10).some((h) => h.chunk.path === 'src/retry.py'));
  });

  test('KthLargest finds the k-th largest value offered, ties included', () => {
    let seed = 7;
    const values = Array.from({ length: 500 }, () => ((seed = (seed * 48271) % 2147483647) % 60) / 7);
    const sorted = [...values].sort((a, b) => b - a);
    for (const k of [1, 2, 17, 250, 499, 500, 501]) {
      const floor = new KthLargest(k);
      for (const v of values) floor.offer(v);
      assert.equal(floor.value, k <= 500 ? sorted[k - 1] : -Infinity, `k ${k}`);
    }
  });

  test('giving back the room kept for growth changes no answer, and the index grows again after it', () => {
    const grownIndex = build();
    const trimmed = build();
    for (let i = 0; i < 300; i++) for (const index of [grownIndex, trimmed]) put(index, `gen/f${i}.py`, [{ chunk: chunk(`gen/f${i}.py`, 1, `handler_${i}`), text: `def handler_${i}(event):\n    return retry_upload(event, attempt_${i % 7})` }]);
    const before = trimmed.memory.arrays;
    trimmed.trim();
    assert.ok(trimmed.memory.arrays < before, `${trimmed.memory.arrays} bytes after, ${before} before`);
    const queries = ['retry upload', 'handler 17 event', 'attempt', 'load config path', 'uploads'];
    for (const q of queries) assert.deepEqual(trimmed.search(q, 10), grownIndex.search(q, 10), q);
    for (const index of [grownIndex, trimmed]) {
      put(index, 'src/late.py', [{ chunk: chunk('src/late.py', 1, 'late_upload'), text: 'def late_upload(attempt):\n    retry_upload(attempt)' }]);
      index.putFile('gen/f3.py', [], []);
    }
    for (const q of [...queries, 'late upload']) assert.deepEqual(trimmed.search(q, 10), grownIndex.search(q, 10), q);
    // An index trimmed while empty (a store opened with its keyword files missing) fills as a new one does.
    const upload = [{ chunk: chunk('src/uploads.py', 1, 'retry_upload'), text: 'def retry_upload(client, path):\n    client.put(path)' }];
    const empty = new LexicalIndex();
    empty.trim();
    put(empty, 'src/uploads.py', upload);
    const fresh = new LexicalIndex();
    put(fresh, 'src/uploads.py', upload);
    assert.deepEqual(empty.search('retry upload client', 5), fresh.search('retry upload client', 5));
    assert.equal(empty.search('retry upload', 5).length, 1);
  });

  test('terms worked out elsewhere (on the parsing thread) index exactly as the texts do', () => {
    const chunks = [chunk('src/uploads.py', 1, 'retry_upload'), chunk('src/uploads.py', 10, 'human_size')];
    const texts = ['def retry_upload(client, path):\n    client.put(path)', 'def human_size(num_bytes):\n    return num_bytes'];
    const fromTexts = new LexicalIndex();
    fromTexts.putFile('src/uploads.py', chunks, texts);
    const fromTerms = new LexicalIndex();
    fromTerms.putFile('src/uploads.py', chunks, fileTerms(texts));
    for (const q of ['retry upload client', 'human size bytes', 'uploads']) assert.deepEqual(fromTerms.search(q, 5), fromTexts.search(q, 5), q);
    assert.throws(() => fromTerms.putFile('a.py', chunks, fileTerms(texts.slice(1))), /2 chunks but terms for 1/);
  });

  test('numbered terms from the parsing thread index as the texts do, across files and a new numbering', () => {
    const files: [string, string[]][] = [
      ['src/a.py', ['def retry_upload(client, path):\n    client.put(path)', 'def human_size(num_bytes):\n    return num_bytes']],
      ['src/b.py', ['def upload_all(paths):\n    for p in paths: retry_upload(p)']],
      ['src/c.py', ['class Client:\n    def put(self, path): pass', 'def sizes(): return human_size(1)']],
      ['src/a.py', ['def retry_upload(client, path, attempts):\n    client.put(path)']],
    ];
    for (const limit of [1 << 20, 8]) {
      const sender = new TermSender(limit);
      const receiver = new TermReceiver();
      const fromTexts = new LexicalIndex();
      const fromNumbers = new LexicalIndex();
      for (const [p, texts] of files) {
        const chunks = texts.map((_, i) => chunk(p, 1 + 10 * i));
        fromTexts.putFile(p, chunks, texts);
        fromNumbers.putFile(p, chunks, receiver.receive(sender.send(fileTerms(texts))));
      }
      for (const q of ['retry upload client', 'human size bytes', 'uploads', 'put path attempts', 'sizes']) assert.deepEqual(fromNumbers.search(q, 5), fromTexts.search(q, 5), `${q} (limit ${limit})`);
    }
  });

  test('postings held back while loading and built in one pass answer as appended ones, and grow after', () => {
    const appended = build();
    const deferred = new LexicalIndex();
    deferred.deferPostings();
    put(deferred, 'src/uploads.py', []); // replaced by build(), as a reloaded file is
    build(deferred);
    for (const index of [appended, deferred]) {
      for (let i = 0; i < 40; i++) put(index, `gen/f${i}.py`, [{ chunk: chunk(`gen/f${i}.py`, 1, `handler_${i}`), text: `def handler_${i}(event):\n    ${'return retry_upload(event)\n    '.repeat(i % 5)}attempt_${i % 7}` }]);
      index.removeFile('gen/f3.py');
    }
    const queries = ['retry upload', 'handler 17 event', 'attempt', 'load config path', 'uploads', 'guide'];
    for (const q of queries) assert.deepEqual(deferred.search(q, 20), appended.search(q, 20), q);
    for (const index of [appended, deferred]) put(index, 'src/late.py', [{ chunk: chunk('src/late.py', 1, 'late_upload'), text: 'def late_upload(attempt):\n    retry_upload(attempt)' }]);
    for (const q of [...queries, 'late upload']) assert.deepEqual(deferred.search(q, 20), appended.search(q, 20), q);
  });

  test('replacing and removing files keeps counts and results right, through compaction', () => {
    const index = build();
    assert.equal(index.chunkCount, 4);
    put(index, 'src/config.py', [{ chunk: chunk('src/config.py', 1, 'read_settings'), text: 'def read_settings():\n    return {}' }]);
    assert.equal(index.chunkCount, 4);
    assert.ok(!index.search('load_config json', 5).some((h) => h.matched.includes('json')), 'the old text is gone');
    assert.equal(index.search('read settings', 1)[0]!.chunk.symbol, 'read_settings');
    index.removeFile('src/uploads.py');
    assert.equal(index.chunkCount, 2);
    assert.ok(!index.search('retry', 10).some((h) => h.chunk.path === 'src/uploads.py'));
    // Enough churn to trigger compaction; survivors must still be found.
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 800; i++) put(index, `gen/${i}.py`, [{ chunk: chunk(`gen/${i}.py`, 1, `handler_${i}_${round}`), text: `def handler_${i}_${round}(event):\n    return event` }]);
    }
    for (let i = 0; i < 800; i++) index.removeFile(`gen/${i}.py`);
    assert.equal(index.chunkCount, 2);
    assert.equal(index.search('read settings', 1)[0]!.chunk.symbol, 'read_settings');
    assert.equal(index.search('guide uploads', 1)[0]!.chunk.path, 'docs/guide.md');
    assert.equal(index.search('handler event', 5).length, 0);
  });
});

describe('TermTable', () => {
  test('numbers terms in the order added and finds each by its characters anywhere in a text, through growth', () => {
    const table = new TermTable();
    const words = Array.from({ length: 5_000 }, (_, i) => `w${(i * 7919).toString(36)}`);
    const text = words.join('\n');
    let start = 0;
    words.forEach((w, i) => {
      const end = start + w.length;
      assert.equal(table.idOf(text, start, end), i);
      start = end + 1;
    });
    assert.equal(table.size, words.length);
    words.forEach((w, i) => {
      assert.equal(table.get(w), i);
      assert.equal(table.idOf(`(${w})`, 1, w.length + 1), i, 'found again, not added');
      assert.equal(table.term(i), w);
    });
    assert.equal(table.size, words.length);
    assert.equal(table.get('w'), undefined);
    assert.equal(table.get(`${words[3]}x`), undefined);
    assert.equal(table.get(''), undefined);
    assert.equal(table.idOf('retry upload', 6), words.length, 'a new term from the middle of a text');
    assert.equal(table.term(words.length), 'upload');
  });
});

describe('PostingPool', () => {
  test('a pool built from the docs in one pass holds what appending them gives, and takes appends after', () => {
    const docs = [[0, 3, 3], [1], [], [3, 0, 5], [5, 5], [2, 0]].map((terms) => [...new Set(terms)]);
    const tf = (d: number, t: number) => 250 + d * 3 + t; // most past the stored cap
    const appended = new PostingPool();
    for (let t = 0; t < 6; t++) appended.addTerm();
    const start: number[] = [];
    const count: number[] = [];
    const ids: number[] = [];
    const freqs: number[] = [];
    docs.forEach((terms, d) => {
      start.push(ids.length);
      count.push(terms.length);
      for (const t of terms) {
        appended.append(t, d, tf(d, t));
        ids.push(t);
        freqs.push(tf(d, t));
      }
    });
    const built = PostingPool.fromDocs(6, start, count, Int32Array.from(ids), Uint16Array.from(freqs));
    const postings = (pool: PostingPool, t: number) => {
      const got: [number, number][] = [];
      pool.forEach(t, (doc, f) => got.push([doc, f]));
      return got;
    };
    for (const pool of [appended, built]) {
      pool.addTerm();
      for (let d = 6; d < 20; d++) pool.append(d % 3 === 0 ? 6 : 5, d, d);
    }
    for (let t = 0; t < 7; t++) {
      assert.equal(built.length(t), appended.length(t), `term ${t}`);
      assert.deepEqual(postings(built, t), postings(appended, t), `term ${t}`);
    }
    assert.deepEqual(postings(built, 4), []);
  });

  test('a built or trimmed pool keeps room for the next edits, so they do not copy it to grow', () => {
    const docs = 20_000;
    const start = Array.from({ length: docs }, (_, d) => 3 * d);
    const ids = Int32Array.from({ length: 3 * docs }, (_, i) => i % 50);
    const built = PostingPool.fromDocs(50, start, start.map(() => 3), ids, new Uint16Array(ids.length).fill(1));
    const appended = new PostingPool();
    for (let t = 0; t < 50; t++) appended.addTerm();
    for (let i = 0; i < ids.length; i++) appended.append(ids[i]!, Math.floor(i / 3), 1);
    appended.trim();
    for (const pool of [built, appended]) {
      const bytes = pool.memoryBytes;
      // One edit: a new block (the largest, 1,024 postings) for each of a few terms.
      for (let t = 0; t < 3; t++) pool.append(t, docs, 2);
      assert.equal(pool.memoryBytes, bytes);
    }
  });


  test("interleaved terms each get back their own postings, in order, across growing blocks", () => {
    const pool = new PostingPool();
    // More terms than the first per-term tables hold, and lists long enough to reach the largest block.
    const sizes = Array.from({ length: 1500 }, (_, t) => (t === 7 ? 5_000 : t % 10));
    const want = sizes.map(() => [] as [number, number][]);
    sizes.forEach((_, t) => assert.equal(pool.addTerm(), t));
    for (let round = 0; round < 5_000; round++) {
      sizes.forEach((n, t) => {
        if (round >= n) return;
        // Term 3's counts pass the stored cap and come back capped.
        const posting: [number, number] = [round * 3 + t, t === 3 ? 250 + round : (round % 7) + 1];
        pool.append(t, ...posting);
        want[t]!.push([posting[0], Math.min(posting[1], SATURATED_TF)]);
      });
    }
    sizes.forEach((n, t) => {
      const got: [number, number][] = [];
      pool.forEach(t, (doc, tf) => got.push([doc, tf]));
      assert.equal(pool.length(t), n);
      assert.deepEqual(got, want[t]);
    });
  });
});

describe('hybrid fusion', () => {
  const a = chunk('a.py', 1, 'a');
  const b = chunk('b.py', 1, 'b');
  const c = chunk('c.py', 1, 'c');
  const scored = (ch: StoredChunk, score: number): ScoredChunk => ({ ...ch, score });

  test('a chunk both sides rank first scores 1 and leads', () => {
    const fused = fuseRankings([scored(a, 0.8), scored(b, 0.5)], [{ chunk: a, score: 9, matched: ['x'] }], { vector: 1, lexical: 1 }, 10, () => undefined);
    assert.equal(fused[0]!.path, 'a.py');
    assert.ok(Math.abs(fused[0]!.score - 1) < 1e-9);
    assert.equal(fused[0]!.vectorScore, 0.8);
    assert.deepEqual(fused[0]!.matched, ['x']);
  });

  test('weights decide between the two sides', () => {
    const vector = [scored(a, 0.9), scored(b, 0.2)];
    const lexical = [{ chunk: b, score: 5, matched: ['b'] }, { chunk: a, score: 1, matched: ['a'] }];
    assert.equal(fuseRankings(vector, lexical, { vector: 1, lexical: 0.3 }, 10, () => undefined)[0]!.path, 'a.py');
    assert.equal(fuseRankings(vector, lexical, { vector: 0.3, lexical: 1 }, 10, () => undefined)[0]!.path, 'b.py');
  });

  test('keyword-only hits get their cosine from the lookup, and k cuts the list', () => {
    const fused = fuseRankings([scored(a, 0.7)], [{ chunk: c, score: 3, matched: ['c'] }, { chunk: b, score: 2, matched: ['b'] }], { vector: 1, lexical: 1 }, 2, (ch) => (ch.path === 'c.py' ? 0.1 : undefined));
    assert.equal(fused.length, 2);
    assert.equal(fused.find((h) => h.path === 'c.py')?.vectorScore, 0.1);
  });
});
