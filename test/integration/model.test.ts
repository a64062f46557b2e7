import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Chunker } from '../../src/core/chunk';
import { loadTokenCounter, TransformersEmbedder } from '../../src/core/embed/embedder';
import { WordPieceTokenizer } from '../../src/core/embed/wordPiece';
import type { Chunk } from '../../src/core/types';

import { IdleStoppingParser, InlineParser, TermReceiver, TermSender, ThreadParser } from '../../src/core/index/fileParser';
import { fileTerms } from '../../src/core/search/codeTokens';
import { BUNDLED_MODELS, ENCODER_MODEL, FIXTURE_REPO, PROJECT_ROOT } from '../helpers/paths';

const MODEL_DIR = path.join(BUNDLED_MODELS, 'nearby-code-small');

// The shipped model, and the contextual encoder the tests use as a local model folder.
for (const [name, modelDir] of [['bundled nearby-code-small', path.join(BUNDLED_MODELS, 'nearby-code-small')], ['encoder folder', ENCODER_MODEL]] as const) describe(`model ${name}`, () => {
  let embedder: TransformersEmbedder;
  before(async () => (embedder = await TransformersEmbedder.load({ dir: modelDir, source: 'bundled' }, { threads: 1 })));
  after(() => embedder?.dispose());

  test('every shipped file matches SHA256SUMS', () => {
    const sums = readFileSync(path.join(modelDir, 'SHA256SUMS'), 'utf8').trim().split('\n');
    assert.ok(sums.length >= 5);
    for (const line of sums) {
      const [hash, file] = line.split(/\s+/);
      const actual = createHash('sha256').update(readFileSync(path.join(modelDir, file!))).digest('hex');
      assert.equal(actual, hash, `${file} was modified`);
    }
  });

  test('vectors have the declared dimension and unit length', async () => {
    const declared = JSON.parse(readFileSync(path.join(modelDir, 'nearby.json'), 'utf8')) as { dimension: number };
    const vectors = await embedder.embedDocuments(['def add(a, b):\n    return a + b', 'How to install', '']);
    for (const v of vectors) {
      assert.equal(v.length, declared.dimension);
      const norm = Math.hypot(...v);
      assert.ok(Math.abs(norm - 1) < 1e-4, `norm ${norm}`);
    }
  });

  test('a plain-English query finds the intended function among others', async () => {
    const functions: Record<string, string> = {
      parse_csv: 'def parse_csv(path):\n    with open(path) as f:\n        return [line.rstrip("\\n").split(",") for line in f]',
      send_email: 'def send_email(smtp, sender, recipient, subject, body):\n    message = f"Subject: {subject}\\n\\n{body}"\n    smtp.sendmail(sender, [recipient], message)',
      resize_image: 'def resize_image(image, width, height):\n    return image.resize((width, height), Image.LANCZOS)',
      hash_password: 'def hash_password(password, salt):\n    return hashlib.pbkdf2_hmac("sha256", password.encode(), salt, 100_000)',
      fetch_json: 'async function fetchJson(url) {\n  const response = await fetch(url);\n  if (!response.ok) throw new Error(response.statusText);\n  return response.json();\n}',
      debounce: 'function debounce(fn, wait) {\n  let timer;\n  return (...args) => {\n    clearTimeout(timer);\n    timer = setTimeout(() => fn(...args), wait);\n  };\n}',
      reverse_list: 'func Reverse(items []int) {\n\tfor i, j := 0, len(items)-1; i < j; i, j = i+1, j-1 {\n\t\titems[i], items[j] = items[j], items[i]\n\t}\n}',
      connect_db: 'def connect_database(url):\n    engine = create_engine(url, pool_pre_ping=True)\n    return engine.connect()',
    };
    const names = Object.keys(functions);
    const vectors = await embedder.embedDocuments(Object.values(functions));
    const rank = async (query: string) => {
      const q = await embedder.embedQuery(query);
      const scores = vectors.map((v) => v.reduce((s, x, i) => s + x * q[i]!, 0));
      return names[scores.indexOf(Math.max(...scores))];
    };
    assert.equal(await rank('read rows from a csv file'), 'parse_csv');
    assert.equal(await rank('send an email message'), 'send_email');
    assert.equal(await rank('hash a password with a salt'), 'hash_password');
    assert.equal(await rank('download json from a url'), 'fetch_json');
    assert.equal(await rank('delay calling a function until input stops'), 'debounce');
  });

  test('a text gets the same vector alone and padded in a batch of others', async () => {
    // Texts of 1 to ~240 tokens, so batches split by the token budget and pad short texts.
    const source = readFileSync(path.join(__dirname, '..', '..', 'src', 'core', 'engine.ts'), 'utf8').split('\n');
    const texts = Array.from({ length: 40 }, (_, i) => source.slice(i * 3, i * 3 + 1 + ((i * 7) % 30)).join('\n'));
    const together = await embedder.embedDocuments(texts);
    for (const [i, text] of texts.entries()) {
      const [alone] = await embedder.embedDocuments([text]);
      const cos = alone!.reduce((s, x, d) => s + x * together[i]![d]!, 0);
      // Dynamic int8 quantization scales activations per call, so vectors agree closely, not bit for bit.
      assert.ok(cos > 0.995, `text ${i} (${embedder.count(text)} tokens): cosine ${cos.toFixed(4)} between alone and batched`);
    }
  });
});

describe('fast WordPiece tokenizer', () => {
  test('gives the same ids as transformers.js on real sources and awkward text', async () => {
    const { AutoTokenizer, env } = await import('@huggingface/transformers');
    env.allowRemoteModels = false;
    env.localModelPath = `${BUNDLED_MODELS}${path.sep}`;
    const reference = (await AutoTokenizer.from_pretrained('nearby-code-small')) as unknown as { encode(t: string): number[] };
    const fast = WordPieceTokenizer.load(path.join(MODEL_DIR, 'tokenizer.json'));
    assert.ok(fast, 'the bundled tokenizer is standard BERT WordPiece');
    const texts = [
      'The café naïve résumé 日本語 [MASK] token\u0000 x\u200b y 🙂 Ünïcödé',
      'def retry_upload(client, path, attempts=5):\n\treturn client.put(path)  # ok?!',
      'x'.repeat(150) + ' averyveryveryverylongidentifierthatisnotinthevocabulary_at_all',
      'ascii\u0001con\u000btrol\fchars\r\n\tand\u007fdel SHOUT_CASE {}[]<>~`|^',
      'const label = "Naïve café"; // © 2024 Ünïcödé GmbH\n  return label.trim();',
      'plain words then 日本語text, emoji🙂inside and\u00a0no-break\u2003em space ΣΑΣ [SEP] done',
      '',
    ];
    const sources = path.join(__dirname, '..', '..', 'src');
    for (const dir of ['core/chunk', 'core/embed', 'core/search']) {
      for (const f of readdirSync(path.join(sources, dir))) if (f.endsWith('.ts')) texts.push(...readFileSync(path.join(sources, dir, f), 'utf8').split('\n'));
    }
    // Words the vocabulary splits in every way: random letters and digits, any case, any length.
    let seed = 7;
    const random = (n: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
    const chars = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789eeaaiioonnrrsstt';
    for (let i = 0; i < 300; i++) texts.push(Array.from({ length: 1 + random(12) }, () => Array.from({ length: 1 + random(i < 280 ? 16 : 120) }, () => chars[random(chars.length)]).join('')).join(i % 2 ? ' ' : '_'));
    const mismatched = texts.filter((t) => JSON.stringify(reference.encode(t)) !== JSON.stringify([...fast!.encode(t)]));
    assert.deepEqual(mismatched.slice(0, 3), []);
    assert.deepEqual(texts.filter((t) => fast!.count(t) !== fast!.encode(t).length).slice(0, 3), [], 'count is the length of encode');
    const known = texts.map((t) => [...fast.encode(t)]);
    fast.forgetWords();
    assert.deepEqual(texts.map((t) => [...fast.encode(t)]), known, 'the same ids after forgetting the words met');
    assert.ok(texts.length > 500, `compared ${texts.length} texts`);
    const long = 'word '.repeat(400);
    assert.equal(fast.count(texts[0]!), reference.encode(texts[0]!).length);
    assert.equal(fast.encode(long, 256).length, 256, 'truncated to the window with [SEP] kept');
    assert.equal(fast.encode(long, 256).at(-1), reference.encode('x').at(-1));
  });
});

describe('cutting an overlong line', () => {
  const fast = WordPieceTokenizer.load(path.join(MODEL_DIR, 'tokenizer.json'))!;
  const parts = (text: string, ends: number[]) => ends.map((end, i) => text.slice(i > 0 ? ends[i - 1] : 0, end));

  test('between words: each part within the budget, as long as it can be, the ids unchanged', () => {
    const minified = 'var a=' + Array.from({ length: 400 }, (_, i) => `Fetch${i}(retryUpload,{ attempts:${i} })`).join('+') + ';';
    for (const budget of [16, 64, 500]) {
      const ends = fast.cut(minified, budget);
      const cut = parts(minified, ends);
      assert.equal(cut.join(''), minified);
      assert.ok(cut.length > 1 && cut.every((p) => p.length > 0 && fast.count(p) - 2 <= budget), `budget ${budget}`);
      // Nothing was cut inside a word, so the parts' ids are the line's ids.
      assert.deepEqual(cut.flatMap((p) => [...fast.pieces(p)]), [...fast.pieces(minified)]);
      // Each part but the last would overflow with the next part's first word or mark.
      cut.slice(0, -1).forEach((p, i) => {
        const next = cut[i + 1]!;
        const word = next.match(/^\s*([A-Za-z0-9]+|[^A-Za-z0-9\s])/)![0];
        assert.ok(fast.count(p + word) - 2 > budget, `part ${i} could have been longer: ${JSON.stringify(p + word)}`);
      });
    }
  });

  test('non-ASCII stretches and special tokens stay whole; a word over the budget is cut inside', () => {
    const mixed = Array.from({ length: 60 }, (_, i) => `naïve=café[${i}] [MASK] 日本語;`).join(' ');
    const cut = parts(mixed, fast.cut(mixed, 20));
    assert.equal(cut.join(''), mixed);
    assert.ok(cut.every((p) => fast.count(p) - 2 <= 20));
    assert.deepEqual(cut.flatMap((p) => [...fast.pieces(p)]), [...fast.pieces(mixed)]);
    const word = 'qzxjvkw'.repeat(14); // 98 letters: many pieces, and under the 100 of one [UNK]
    assert.ok(fast.count(word) - 2 > 20);
    const inside = parts(`${word} end`, fast.cut(`${word} end`, 20));
    assert.equal(inside.join(''), `${word} end`);
    assert.ok(inside.length > 1 && inside.every((p) => p.length > 0 && fast.count(p) - 2 <= 20));
  });
});

describe('chunks assembled from line ids', () => {
  test('same chunks as exact counting, and each chunk carries exactly its model input', async () => {
    const tokens = await loadTokenCounter({ dir: MODEL_DIR, source: 'bundled' });
    assert.ok(tokens.lineIds && tokens.modelInput, 'the bundled tokenizer splits at whitespace first');
    const countOnly = { count: tokens.count };
    const fast = WordPieceTokenizer.load(path.join(MODEL_DIR, 'tokenizer.json'))!;
    const chunker = await Chunker.create();
    try {
      const sources = path.join(__dirname, '..', '..', 'src');
      const files = ['core/chunk/pieces.ts', 'core/store/indexStore.ts', 'core/embed/wordPiece.ts', 'vscode/panel/panelProvider.ts'].map((f) => path.join(sources, f));
      files.push(path.join(__dirname, '..', '..', 'README.md'), path.join(__dirname, '..', 'fixtures', 'repo', 'src', 'uploads.py'));
      let checked = 0;
      for (const file of files) {
        const minified = Array.from({ length: 300 }, (_, i) => `f${i}(x)`).join('+');
        const text = readFileSync(file, 'utf8') + '\nconst s = "naïve café ©";\n' + 'x'.repeat(3000) + `\n${minified}\n`;
        for (const maxTokens of [64, 256]) {
          const assembled = await chunker.chunkFile(path.basename(file), text, { maxTokens, tokens });
          const counted = await chunker.chunkFile(path.basename(file), text, { maxTokens, tokens: countOnly });
          // Slices of an overlong line are cut between words here, by characters there.
          const whole = (chunks: Chunk[]) => chunks.filter((c) => chunks.filter((d) => d.startLine === c.startLine && d.endLine === c.endLine).length === 1);
          assert.deepEqual(whole(assembled).map(({ tokenIds: _, ...c }) => c), whole(counted), `${file} at ${maxTokens}`);
          assert.deepEqual(assembled.filter((c) => !whole(assembled).includes(c)).map((c) => c.startLine), counted.filter((c) => !whole(counted).includes(c)).map((c) => c.startLine), 'the same lines are sliced');
          for (const c of assembled) {
            assert.ok(c.tokenIds, `${c.path}:${c.startLine} has its model input`);
            assert.deepEqual(c.tokenIds, fast.encode(c.text, 256), `${c.path}:${c.startLine}`);
            assert.ok(c.tokenIds.length <= maxTokens, `${c.path}:${c.startLine} fits`);
            checked++;
          }
        }
      }
      assert.ok(checked > 100, `checked ${checked} chunks`);
    } finally {
      chunker.dispose();
    }
  });
});

describe('the parsing thread', () => {
  test('gives what parsing in place gives: chunks with model input, and the same keyword terms', async () => {
    const model = { dir: MODEL_DIR, source: 'bundled' as const };
    const thread = await ThreadParser.start(path.join(PROJECT_ROOT, 'src', 'core', 'index', 'parseThread.ts'), { model, settings: { maxTokens: 256 } });
    const chunker = await Chunker.create();
    try {
      const inline = new InlineParser(chunker, await loadTokenCounter(model), { maxTokens: 256 });
      const files = ['src/lruCache.ts', 'src/uploads.py', 'lib/Matrix.java', 'docs/guide.md', 'src/validation.ts', 'docs/logo.dat', 'src/uploads.py'];
      // All at once, as the indexer asks: terms numbered for one file are known when the next arrives.
      const threaded = await Promise.all(files.map((f) => thread.parse(path.join(FIXTURE_REPO, f), f, 1 << 20)));
      for (const [i, f] of files.entries()) {
        const here = await inline.parse(path.join(FIXTURE_REPO, f), f, 1 << 20);
        const there = threaded[i]!;
        assert.equal(there.ok, here.ok, f);
        if (!here.ok || !there.ok) continue;
        assert.deepEqual(there.chunks.map((c) => ({ ...c, text: '' })), here.chunks.map((c) => ({ ...c, text: '' })), `${f}: chunks`);
        assert.ok(there.chunks.every((c) => c.tokenIds), `${f}: chunks carry their model input`);
        const { numbered: _, ...terms } = there.terms;
        assert.deepEqual(terms, here.terms, `${f}: terms`);
      }
    } finally {
      chunker.dispose();
      await thread.dispose();
    }
  });

  test('embeds a batch with its own copy of the model: the vectors the indexing thread gets, by ids or by text', async () => {
    const model = { dir: ENCODER_MODEL, source: 'explicit' as const };
    const thread = await ThreadParser.start(path.join(PROJECT_ROOT, 'src', 'core', 'index', 'parseThread.ts'), { model, settings: { maxTokens: 256 } });
    const here = await TransformersEmbedder.load(model);
    try {
      const parsed = await thread.parse(path.join(FIXTURE_REPO, 'src/uploads.py'), 'src/uploads.py', 1 << 20);
      assert.ok(parsed.ok && parsed.chunks.length > 1);
      const texts = [...parsed.chunks.map((c) => c.text), 'retry a failed upload with backoff', ''];
      const ids = [...parsed.chunks.map((c) => c.tokenIds), undefined, undefined];
      const local = await here.embedDocuments(
        texts.map((t, i) => (ids[i] ? '' : t)),
        ids,
      );
      const remote = await thread.embed(texts, ids);
      assert.equal(remote.length, texts.length);
      for (const [i, v] of remote.entries()) {
        assert.equal(v.length, here.info.dimension);
        const cosine = v.reduce((sum, x, d) => sum + x * local[i]![d]!, 0);
        assert.ok(cosine > 0.9999, `text ${i}: cosine ${cosine}`);
      }
      assert.deepEqual(await thread.embed([], []), [], 'an empty batch');
      await thread.release();
      const reloaded = await thread.embed(texts, ids);
      assert.deepEqual(reloaded, remote, 'after a release, the next batch loads the model again');
    } finally {
      await here.dispose();
      await thread.dispose();
    }
  });

  test('is stopped after a while without work and started again by the next request, giving the same chunks', async () => {
    const model = { dir: MODEL_DIR, source: 'bundled' as const };
    const threads: ThreadParser[] = [];
    const start = async () => {
      const t = await ThreadParser.start(path.join(PROJECT_ROOT, 'src', 'core', 'index', 'parseThread.ts'), { model, settings: { maxTokens: 256 } });
      threads.push(t);
      return t;
    };
    const parser = new IdleStoppingParser(start, await start(), 300);
    try {
      const file = 'src/uploads.py';
      const before = await parser.parse(path.join(FIXTURE_REPO, file), file, 1 << 20);
      await new Promise((r) => setTimeout(r, 1000));
      assert.equal(threads.length, 1, 'not started again while idle');
      await assert.rejects(threads[0]!.parse(path.join(FIXTURE_REPO, file), file, 1 << 20), /stopped/, 'the idle thread was stopped');
      const after = await parser.parse(path.join(FIXTURE_REPO, file), file, 1 << 20);
      assert.equal(threads.length, 2, 'the next request started a new thread');
      assert.ok(before.ok && after.ok);
      assert.deepEqual(after.chunks, before.chunks);
      const { numbered: _a, ...termsAfter } = after.terms;
      const { numbered: _b, ...termsBefore } = before.terms;
      assert.deepEqual(termsAfter, termsBefore);
      assert.notEqual(after.terms.numbered?.space, before.terms.numbered?.space, 'a new thread numbers its terms anew');
    } finally {
      await parser.dispose();
    }
  });

  test('numbered terms arrive as they were sent, also when numbering starts again', () => {
    const files = [['retry upload now', 'upload again'], ['retry later', 'new words here'], ['upload retry', 'here again']].map((texts) => fileTerms(texts));
    for (const limit of [1 << 20, 5]) {
      const sender = new TermSender(limit);
      const receiver = new TermReceiver();
      const sent = files.map((f) => sender.send(f));
      assert.equal(sent.some((s) => s.reset), limit === 5, `limit ${limit}`);
      assert.deepEqual(sent.map((s) => receiver.receive(s)).map(({ numbered: _, ...terms }) => terms), files);
      if (limit > 5) assert.deepEqual(sent[2]!.newTerms, [], 'terms already sent are not sent again');
    }
  });
});
