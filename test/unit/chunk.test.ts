import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Chunker, languageOf } from '../../src/core/chunk';
import { isParsed, type ParsedLanguage } from '../../src/core/chunk/languages';
import grammars from '../../src/core/chunk/grammars.json';
import { TreeSitter } from '../../src/core/chunk/treeSitter';
import { PROJECT_ROOT } from '../helpers/paths';

const FIXTURES = path.join(PROJECT_ROOT, 'test', 'fixtures', 'chunk');
/** Goldens must not depend on a model: one token per word or punctuation mark, plus [CLS]/[SEP]. */
const words = { count: (t: string) => (t.match(/\w+|[^\s\w]/g)?.length ?? 0) + 2 };
type Golden = Record<string, [number, number, string | null][]>;

// Reviewed by hand: whole definitions when they fit (256), split at members with the enclosing
// name when they do not (48).
const GOLDEN: Record<number, Golden> = {
  256: {
    'Cart.php': [[1, 26, "Cart"]],
    'Inventory.cs': [[1, 22, "Shop.Inventory"]],
    'Matrix.java': [[1, 16, "Matrix.multiply"]],
    'checksum.go': [[1, 22, "FileChecksum"]],
    'config.yaml': [[1, 6, null]],
    'guide.md': [[1, 10, "Project guide"]],
    'lruCache.ts': [[1, 24, "LruCache"]],
    'queue.js': [[1, 22, "Queue"], [24, 29, "drain"]],
    // Member and export assignments are definitions with names; doc comments stay with them.
    'response.js': [[1, 6, "cookieLib"], [8, 25, "res.cookie"], [27, 33, "res.render"], [35, 44, "parseRange"], [46, 50, "Client.send"]],
    'shapes.py': [[1, 22, "Circle"]],
    'store.go': [[1, 9, "Store"], [11, 17, "Store.Get"], [19, 24, "Store.Put"]],
    'ring.c': [[1, 7, "ring"], [9, 17, "ring_put"], [19, 26, "ring_get"]],
    'shapes.cpp': [[1, 20, "geo"]],
    'slug.rb': [[1, 6, "Text.slugify"]],
    'uploads.py': [[1, 18, "retry_upload"], [21, 27, "human_size"]],
    'widget.tsx': [[1, 11, "Button"], [13, 16, "Counter"]],
    'words.rs': [[1, 7, "split_words"]],
  },
  48: {
    'Cart.php': [[1, 3, null], [5, 10, "Cart"], [12, 13, "Cart.add"], [14, 15, "Cart.add"], [17, 19, "Cart.total"], [20, 21, "Cart.total"], [23, 26, "format_money"]],
    'Inventory.cs': [[1, 1, null], [3, 8, "Shop.Inventory"], [10, 13, "Shop.Inventory.Add"], [15, 22, "Shop.Inventory.TryRemove"]],
    'Matrix.java': [[1, 1, null], [3, 5, "Matrix.multiply"], [6, 6, "Matrix.multiply"], [7, 7, "Matrix.multiply"], [8, 8, "Matrix.multiply"], [9, 10, "Matrix.multiply"], [11, 11, "Matrix.multiply"], [12, 13, "Matrix.multiply"], [14, 16, "Matrix.multiply"]],
    'checksum.go': [[1, 8, null], [10, 12, "FileChecksum"], [13, 15, "FileChecksum"], [16, 16, "FileChecksum"], [17, 17, "FileChecksum"], [18, 20, "FileChecksum"], [21, 22, "FileChecksum"]],
    'config.yaml': [[1, 6, null]],
    'guide.md': [[1, 5, "Project guide > Installation"], [7, 10, "Project guide > Database migrations"]],
    'lruCache.ts': [[1, 2, "LruCache"], [3, 3, "LruCache"], [5, 5, "LruCache.constructor"], [7, 8, "LruCache.get"], [9, 12, "LruCache.get"], [13, 14, "LruCache.get"], [16, 17, "LruCache.set"], [18, 18, "LruCache.set"], [19, 20, "LruCache.set"], [21, 24, "LruCache.set"]],
    'queue.js': [[1, 1, null], [3, 10, "Queue.constructor"], [12, 14, "Queue.push"], [16, 19, "Queue.shift"], [20, 22, "Queue.shift"], [24, 27, "drain"], [29, 29, null]],
    'response.js': [[1, 1, null], [3, 3, "cookieLib"], [4, 4, "res"], [6, 6, null], [8, 11, "res.cookie"], [12, 16, "res.cookie"], [17, 17, "res.cookie"], [18, 18, "res.cookie"], [19, 20, "res.cookie"], [21, 22, "res.cookie"], [23, 23, "res.cookie"], [24, 25, "res.cookie"], [27, 31, "res.render"], [32, 32, "res.render"], [33, 33, "res.render"], [35, 36, "parseRange"], [37, 37, "parseRange"], [38, 39, "parseRange"], [41, 44, "Client"], [46, 48, "Client.send"], [49, 50, "Client.send"]],
    // Properties and their setters are the class's members; Go methods are named by their receiver.
    'shapes.py': [[1, 5, "Circle"], [7, 8, "Circle.__init__"], [10, 13, "Circle.area"], [15, 17, "Circle.area"], [19, 22, "Circle.unit"]],
    'store.go': [[1, 3, null], [5, 9, "Store"], [11, 13, "Store.Get"], [14, 14, "Store.Get"], [15, 15, "Store.Get"], [16, 17, "Store.Get"], [19, 21, "Store.Put"], [22, 22, "Store.Put"], [23, 24, "Store.Put"]],
    'ring.c': [[1, 1, null], [3, 7, "ring"], [9, 11, "ring_put"], [12, 13, "ring_put"], [14, 14, "ring_put"], [15, 15, "ring_put"], [16, 17, "ring_put"], [19, 22, "ring_get"], [23, 23, "ring_get"], [24, 24, "ring_get"], [25, 26, "ring_get"]],
    'shapes.cpp': [[1, 1, null], [3, 7, "geo.Circle"], [8, 8, "geo.Circle.Circle"], [9, 9, "geo.Circle.area"], [10, 12, "geo.Circle.perimeter"], [13, 14, "geo.Circle"], [16, 20, "geo.distance"]],
    'slug.rb': [[1, 3, "Text.slugify"], [4, 4, "Text.slugify"], [4, 4, "Text.slugify"], [5, 6, "Text.slugify"]],
    'uploads.py': [[1, 2, null], [5, 6, "UploadError"], [9, 10, "retry_upload"], [11, 13, "retry_upload"], [14, 16, "retry_upload"], [17, 17, "retry_upload"], [18, 18, "retry_upload"], [21, 22, "human_size"], [23, 25, "human_size"], [26, 26, "human_size"], [27, 27, "human_size"]],
    'widget.tsx': [[1, 1, null], [3, 6, "Props"], [8, 11, "Button"], [13, 14, "Counter"], [15, 16, "Counter"]],
    'words.rs': [[1, 3, "split_words"], [4, 4, "split_words"], [5, 5, "split_words"], [6, 7, "split_words"]],
  },
};

describe('Chunker', () => {
  let chunker: Chunker;
  before(async () => (chunker = await Chunker.create()));
  after(() => chunker.dispose());

  const read = (f: string) => readFileSync(path.join(FIXTURES, f), 'utf8');

  for (const max of [256, 48]) {
    for (const file of Object.keys(GOLDEN[max]!)) {
      test(`golden boundaries: ${file} at ${max} tokens`, async () => {
        const chunks = await chunker.chunkFile(file, read(file), { maxTokens: max, tokens: words });
        assert.deepEqual(chunks.map((c) => [c.startLine, c.endLine, c.symbol ?? null]), GOLDEN[max]![file]);
      });
    }
  }

  test('every grammar loads and parses its fixture without errors', async () => {
    const langs = [...new Set(readdirSync(FIXTURES).map(languageOf))].sort();
    assert.deepEqual(langs, ['c', 'cpp', 'csharp', 'go', 'java', 'javascript', 'markdown', 'php', 'python', 'ruby', 'rust', 'tsx', 'typescript', 'yaml']);
    const treeSitter = await TreeSitter.load();
    try {
      const languages = Object.keys(grammars).filter((k) => k !== 'runtime');
      assert.equal(languages.length, 12);
      for (const language of languages) assert.ok(isParsed(language) && (await treeSitter.parser(language)), language);
      for (const file of readdirSync(FIXTURES).filter((f) => isParsed(languageOf(f)))) {
        const parser = await treeSitter.parser(languageOf(file) as ParsedLanguage);
        const tree = parser.parse(read(file))!;
        assert.equal(tree.rootNode.hasError, false, `${file} parsed with errors`);
        tree.delete();
      }
    } finally {
      await treeSitter.dispose();
    }
  });

  test('languageOf: extensions, well-known names, fallback', () => {
    const cases = { 'a/b.ts': 'typescript', 'x.TSX': 'tsx', 'x.mjs': 'javascript', 'x.pyi': 'python', 'x.hpp': 'cpp', 'x.h': 'c', 'x.cs': 'csharp', 'README.md': 'markdown', 'notes.txt': 'plaintext', 'Dockerfile': 'dockerfile', 'win\\path\\Gemfile': 'ruby', 'x.unknown': 'text', 'LICENSE': 'text' };
    for (const [file, language] of Object.entries(cases)) assert.equal(languageOf(file), language, file);
  });

  test('compound statements split at their clauses, with the clause above as context', async () => {
    const py = await chunker.chunkFile('uploads.py', read('uploads.py'), { maxTokens: 64, tokens: words });
    const except = py.find((c) => c.startLine === 14)!;
    assert.equal(except.text.split('\n').slice(0, 4).join('\n'), '    for attempt in range(attempts):\n        try:\n        except UploadError:\n            if attempt == attempts - 1:');
    // Go nests a block's statements in a statement_list: context is still the function signature.
    const go = await chunker.chunkFile('checksum.go', read('checksum.go'), { maxTokens: 48, tokens: words });
    for (const c of go.filter((c) => c.startLine > 12)) assert.match(c.text, /^func FileChecksum\(path string\) \(string, error\) \{\n/);
  });

  test('tiny neighbours merge under the first definition name; context is never repeated', async () => {
    const source = 'import os\n\nX = 1\n\ndef a():\n    return 1\n\ndef b():\n    return 2\n';
    const chunks = await chunker.chunkFile('m.py', source, { maxTokens: 64, minTokens: 16, tokens: words });
    assert.deepEqual(chunks.map((c) => [c.startLine, c.endLine, c.symbol ?? null]), [[1, 9, 'a']]);
    for (const file of readdirSync(FIXTURES)) {
      for (const c of await chunker.chunkFile(file, read(file), { maxTokens: 32, tokens: words })) {
        const own = read(file).split('\n').slice(c.startLine - 1, c.endLine);
        const context = c.text.split('\n').slice(0, -own.length);
        assert.ok(!context.includes(own[0]!), `${file}:${c.startLine}: context repeats the first line`);
      }
    }
  });

  test('Markdown: heading paths, setext headings, fenced # lines, big sections split at paragraphs under their heading', async () => {
    const md = ['Intro line before any heading.', '', '# Tool', '', 'What it does.', '', '## Install', '', '### From source', '', '```sh', '# not a heading', 'make install', '```', '', 'Usage', '-----', '', 'Run it with the flags you need and then wait for it to finish its work.', '', 'A second paragraph that explains the output format and exit codes.'].join('\n');
    const chunks = await chunker.chunkFile('README.md', md, { maxTokens: 20, minTokens: 1, tokens: words });
    const summary = chunks.map((c) => [c.startLine, c.endLine, c.symbol ?? null, c.text.split('\n')[0]]);
    assert.deepEqual(summary, [
      [1, 1, null, 'Intro line before any heading.'],
      [3, 5, 'Tool', '# Tool'],
      [7, 7, 'Tool > Install', '## Install'],
      [9, 14, 'Tool > Install > From source', '### From source'],
      [16, 17, 'Tool > Usage', 'Usage'],
      [19, 19, 'Tool > Usage', 'Usage'],
      [21, 21, 'Tool > Usage', 'Usage'],
    ]);
    assert.ok(chunks.every((c) => c.kind === 'doc' && c.language === 'markdown'));
  });

  test('Go methods are named by their receiver type', async () => {
    const source = 'package stack\n\nfunc (s *Stack[T]) Push(v T) {\n\ts.items = append(s.items, v)\n}\n\nfunc (s Stack[T]) Len() int {\n\treturn len(s.items)\n}\n';
    const chunks = await chunker.chunkFile('stack.go', source, { maxTokens: 40, minTokens: 1, tokens: words });
    assert.deepEqual(chunks.map((c) => c.symbol ?? null), [null, 'Stack.Push', 'Stack.Len']);
  });

  test('fallback: 40-line windows sharing 5 lines; prose split at paragraphs', async () => {
    const sql = Array.from({ length: 100 }, (_, i) => `INSERT INTO t VALUES (${i});`).join('\n');
    const windows = await chunker.chunkFile('seed.sql', sql, { maxTokens: 1000, tokens: words });
    assert.deepEqual(windows.map((c) => [c.startLine, c.endLine, c.kind]), [[1, 40, 'code'], [36, 75, 'code'], [71, 100, 'code']]);
    const prose = 'First paragraph, one line.\n\nSecond paragraph\nspans two lines.\n\nThird.\n';
    const paras = await chunker.chunkFile('notes.txt', prose, { maxTokens: 9, tokens: words });
    assert.deepEqual(paras.map((c) => [c.startLine, c.endLine, c.kind]), [[1, 1, 'doc'], [3, 4, 'doc'], [6, 6, 'doc']]);
  });

  test('a split class keeps its signature as context in every later part', async () => {
    const chunks = await chunker.chunkFile('lruCache.ts', read('lruCache.ts'), { maxTokens: 48, tokens: words });
    // Each later part opens with context: an enclosing signature line from above its range
    // (the class, or the innermost block when space is short).
    const lines = read('lruCache.ts').split('\n');
    for (const c of chunks.slice(1)) {
      const first = c.text.split('\n')[0]!;
      assert.ok(first.trim() !== '' && lines.slice(0, c.startLine - 1).includes(first), `no context line: ${c.text}`);
    }
    assert.ok(chunks.some((c) => c.startLine > 3 && c.text.startsWith('export class LruCache<K, V> {\n  constructor')));
    // With room for whole methods, the class is split exactly at them, each under the class line.
    const byMethod = await chunker.chunkFile('lruCache.ts', read('lruCache.ts'), { maxTokens: 128, tokens: words });
    assert.deepEqual(byMethod.map((c) => [c.startLine, c.endLine, c.symbol]), [[1, 5, 'LruCache'], [7, 14, 'LruCache.get'], [16, 24, 'LruCache.set']]);
    assert.ok(byMethod.slice(1).every((c) => c.text.startsWith('export class LruCache<K, V> {\n  ')));
    const php = await chunker.chunkFile('Cart.php', read('Cart.php'), { maxTokens: 100, tokens: words });
    assert.deepEqual(php.filter((c) => c.symbol?.startsWith('Cart.')).map((c) => c.text.split('\n')[0]), ['class Cart', 'class Cart']);
    const py = await chunker.chunkFile('uploads.py', read('uploads.py'), { maxTokens: 64, tokens: words });
    const inner = py.find((c) => c.startLine === 11)!;
    assert.match(inner.text, /^def retry_upload\(client, path, attempts=5, base_delay=0\.5\):\n    for attempt/);
  });

  test('properties: within budget, every non-blank line covered, hash of text, sorted', async () => {
    for (const file of readdirSync(FIXTURES)) {
      const text = read(file);
      const lines = text.split(/\r?\n/);
      for (const max of [32, 64, 256]) {
        const chunks = await chunker.chunkFile(file, text, { maxTokens: max, tokens: words });
        const covered = new Set<number>();
        let prevStart = 0;
        for (const c of chunks) {
          assert.ok(words.count(c.text) <= max, `${file}@${max}: chunk ${c.startLine}-${c.endLine} has ${words.count(c.text)} tokens`);
          assert.equal(c.hash, createHash('sha256').update(c.text).digest('hex'));
          assert.ok(c.startLine >= prevStart && c.endLine >= c.startLine);
          assert.ok(!c.text.includes(file), 'the path is not part of the embedded text');
          prevStart = c.startLine;
          for (let l = c.startLine; l <= c.endLine; l++) covered.add(l);
        }
        lines.forEach((line, i) => assert.ok(line.trim() === '' || covered.has(i + 1), `${file}@${max}: line ${i + 1} dropped`));
      }
    }
  });

  test('edge cases: empty, blank-only, CRLF, syntax errors, one huge line', async () => {
    assert.deepEqual(await chunker.chunkFile('empty.py', '', { maxTokens: 64, tokens: words }), []);
    assert.deepEqual(await chunker.chunkFile('blank.ts', '\n\n   \n', { maxTokens: 64, tokens: words }), []);
    const crlf = await chunker.chunkFile('win.py', 'def a():\r\n    return 1\r\n\r\n\r\ndef b():\r\n    return 2\r\n', { maxTokens: 16, tokens: words });
    assert.deepEqual(crlf.map((c) => [c.startLine, c.endLine, c.symbol]), [[1, 2, 'a'], [5, 6, 'b']]);
    assert.ok(crlf.every((c) => !c.text.includes('\r')));
    const broken = await chunker.chunkFile('broken.py', 'def ok():\n    return 1\n\ndef broken(:\n    return (\n', { maxTokens: 64, tokens: words });
    assert.ok(broken.length > 0 && broken.at(-1)!.endLine === 5, 'a file with syntax errors is still chunked to its end');
    const minified = 'var a=' + Array.from({ length: 2000 }, (_, i) => `f${i}(x)`).join('+') + ';';
    const slices = await chunker.chunkFile('bundle.js', minified, { maxTokens: 64, tokens: words });
    assert.ok(slices.length > 1 && slices.every((c) => c.startLine === 1 && c.endLine === 1 && words.count(c.text) <= 64));
    assert.equal(slices.map((c) => c.text).join(''), minified, 'slices of a long line add up to the line');
  });
});
