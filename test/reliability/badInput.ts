/**
 * Bad input, each kind a fixture made here: files no editor should choke on, a damaged index or
 * model, and queries of the wrong shape. None may crash the worker or lose the good part of the
 * index, and each must leave a trace the user can read (a skip reason, a note, an error message).
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import type { IndexSummary } from '../../src/core/index/progress';
import { WorkerError, type WorkerEvent } from '../../src/worker/client';
import { BUNDLED_MODELS } from '../helpers/paths';
import { compareIndexes, copyCorpus, expect, readIndex, row, scratch, searchAll, workerOn, type Row } from './harness';

/** A fixture: files to make, and what must hold of the index afterwards. */
interface Kind {
  name: string;
  make(root: string): void | Promise<void>;
  /** The file a unique word of which keyword search must find, when the kind should be indexed. */
  findable?: { word: string; path: string };
  /** Paths that must not be in the index. */
  absent?: string[];
}

const word = (i: number) => `zqx${i.toString(36)}unique`;
const py = (i: number) => `def handler_${i}(event):\n    """${word(i)}: handle one event and return its id."""\n    return event.get("id")\n`;

function file(root: string, rel: string, data: string | Buffer): void {
  mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
  writeFileSync(path.join(root, rel), data);
}

const KINDS: Kind[] = [
  { name: 'binary (PNG)', make: (r) => file(r, 'img/logo.png', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 73, 72, 68, 82, ...Array(200).fill(0)])), absent: ['img/logo.png'] },
  { name: 'NUL bytes in a .js', make: (r) => file(r, 'src/nul.js', `const a = 1;\0\0\0const b = 2;\n${'x'.repeat(100)}`), absent: ['src/nul.js'] },
  { name: '50 MB minified JS', make: (r) => file(r, 'dist/bundle.min.js', `!function(){${'var a=function(b){return b+1};'.repeat(50 * 1024 * 1024 / 29)}}();`), absent: ['dist/bundle.min.js'] },
  { name: '1-line 20 MB JSON', make: (r) => file(r, 'data/big.json', JSON.stringify(Array.from({ length: 1_200_000 }, (_, i) => ({ i })))), absent: ['data/big.json'] },
  { name: 'minified JS under the size cap', make: (r) => file(r, 'src/small.min.js', `!function(){${'var a=function(b){return b+1};'.repeat(20_000)}}();`), absent: ['src/small.min.js'] },
  { name: 'UTF-16 LE with BOM', make: (r) => file(r, 'src/utf16.py', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(py(1), 'utf16le')])), findable: { word: word(1), path: 'src/utf16.py' } },
  { name: 'UTF-16 BE with BOM', make: (r) => file(r, 'src/utf16be.py', Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(py(2), 'utf16le').swap16()])), findable: { word: word(2), path: 'src/utf16be.py' } },
  { name: 'UTF-8 with BOM', make: (r) => file(r, 'src/bom.py', `\ufeff${py(3)}`), findable: { word: word(3), path: 'src/bom.py' } },
  { name: 'Latin-1', make: (r) => file(r, 'src/latin1.py', Buffer.from(`# caf\u00e9 cr\u00e8me\n${py(4)}`, 'latin1')), findable: { word: word(4), path: 'src/latin1.py' } },
  { name: 'invalid UTF-8', make: (r) => file(r, 'src/invalid.py', Buffer.concat([Buffer.from(py(5)), Buffer.from([0xc3, 0x28, 0xa0, 0xa1, 0xe2, 0x28, 0xa1, 0x0a])])), findable: { word: word(5), path: 'src/invalid.py' } },
  { name: 'CRLF line ends', make: (r) => file(r, 'src/crlf.py', py(6).replace(/\n/g, '\r\n')), findable: { word: word(6), path: 'src/crlf.py' } },
  { name: 'lone CR line ends', make: (r) => file(r, 'src/cr.py', py(7).replace(/\n/g, '\r')), findable: { word: word(7), path: 'src/cr.py' } },
  { name: 'mixed line ends', make: (r) => file(r, 'src/mixed.py', `${py(8).replace('\n', '\r\n')}\r# end\n`), findable: { word: word(8), path: 'src/mixed.py' } },
  { name: 'empty file', make: (r) => file(r, 'src/empty.py', '') },
  { name: 'whitespace-only file', make: (r) => file(r, 'src/blank.py', ' \n\t\n\n   \n') },
  { name: 'symlink loop', make: (r) => (mkdirSync(path.join(r, 'loop'), { recursive: true }), symlinkSync('..', path.join(r, 'loop', 'up')), symlinkSync(path.join(r, 'loop', 'b'), path.join(r, 'loop', 'a')), symlinkSync(path.join(r, 'loop', 'a'), path.join(r, 'loop', 'b'))), absent: ['loop/a', 'loop/b'] },
  { name: 'dangling symlink', make: (r) => symlinkSync(path.join(r, 'nowhere.py'), path.join(r, 'dangling.py')), absent: ['dangling.py'] },
  { name: 'FIFO', make: (r) => execFileSync('mkfifo', [path.join(r, 'pipe.py')]), absent: ['pipe.py'] },
  // Bound by a process that then exits, the socket file stays (a Node server would unlink it on close).
  { name: 'Unix socket', make: (r) => void execFileSync('python3', ['-c', 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])', path.join(r, 'sock.py')]), absent: ['sock.py'] },
  { name: '1,000-deep folders', make: (r) => file(r, `${Array(1000).fill('d').join('/')}/deep.py`, py(9)), findable: { word: word(9), path: `${Array(1000).fill('d').join('/')}/deep.py` } },
  { name: 'name with a newline', make: (r) => file(r, 'names/new\nline.py', py(10)), findable: { word: word(10), path: 'names/new\nline.py' } },
  { name: 'name with quotes and <>&', make: (r) => file(r, `names/it's "quoted" <b>&amp;.py`, py(11)), findable: { word: word(11), path: `names/it's "quoted" <b>&amp;.py` } },
  { name: 'right-to-left name', make: (r) => file(r, 'names/\u05e9\u05dc\u05d5\u05dd\u202e.py', py(12)), findable: { word: word(12), path: 'names/\u05e9\u05dc\u05d5\u05dd\u202e.py' } },
  { name: 'emoji name', make: (r) => file(r, 'names/\u{1f680}rocket\u{1f525}.py', py(13)), findable: { word: word(13), path: 'names/\u{1f680}rocket\u{1f525}.py' } },
  { name: '255-byte name', make: (r) => file(r, `names/${'n'.repeat(252)}.py`, py(14)), findable: { word: word(14), path: `names/${'n'.repeat(252)}.py` } },
  { name: 'name not valid UTF-8', make: (r) => (mkdirSync(path.join(r, 'names'), { recursive: true }), writeFileSync(Buffer.concat([Buffer.from(path.join(r, 'names') + '/bad'), Buffer.from([0xff, 0xfe]), Buffer.from('.py')]), py(15))) },
  { name: 'name with spaces, # and %', make: (r) => file(r, 'names/a b #1 100%.py', py(16)), findable: { word: word(16), path: 'names/a b #1 100%.py' } },
  {
    name: '.gitignore with negations',
    make: (r) => {
      file(r, 'gen/.gitignore', '*.gen.py\n!keep.gen.py\n');
      file(r, 'gen/drop.gen.py', py(17));
      file(r, 'gen/keep.gen.py', py(18));
    },
    findable: { word: word(18), path: 'gen/keep.gen.py' },
    absent: ['gen/drop.gen.py'],
  },
  {
    name: 'a submodule',
    make: (r) => {
      file(r, '.gitmodules', '[submodule "sub"]\n\tpath = sub\n\turl = ../sub.git\n');
      file(r, 'sub/.git', 'gitdir: ../.git/modules/sub\n');
      file(r, 'sub/lib.py', py(19));
    },
    findable: { word: word(19), path: 'sub/lib.py' },
  },
  { name: 'a folder named like a file', make: (r) => file(r, 'src/folder.js/inner.py', py(20)), findable: { word: word(20), path: 'src/folder.js/inner.py' } },
  { name: '1 MB single line of code', make: (r) => file(r, 'src/oneline.py', `x = [${'1, '.repeat(330_000)}]\n`) },
  { name: '50,000 nested brackets', make: (r) => file(r, 'src/nested.js', `const deep = ${'['.repeat(50_000)}${']'.repeat(50_000)};\n`) },
  { name: 'very long identifier', make: (r) => file(r, 'src/longname.py', `def ${'a'.repeat(20_000)}():\n    return 1\n${py(21)}`), findable: { word: word(21), path: 'src/longname.py' } },
  { name: 'control characters', make: (r) => file(r, 'src/ctrl.md', `# Title\x1b[31m red \x07 bell\n\n${word(22)} text\n`) },
  { name: 'unterminated string and comment', make: (r) => file(r, 'src/broken.js', `function ok() { return "${word(23)}" }\nconst s = "never closed\n/* never closed\n`), findable: { word: word(23), path: 'src/broken.js' } },
];

const TINY_FILES = 100_000;

export async function badInputRow(): Promise<Row> {
  const r = row('bad input', `${KINDS.length + 1} kinds of bad file in one tree (and ${TINY_FILES.toLocaleString('en')} tiny files): no crash, good files found, each kind indexed or skipped with a reason`);
  const s = scratch('bad');
  const root = path.join(s.dir, 'repo');
  try {
    copyCorpus(root);
    for (const kind of KINDS) await kind.make(root);
    for (let i = 0; i < TINY_FILES; i++) file(root, `tiny/${Math.floor(i / 1000)}/t${i}.py`, `v${i} = ${i}\n`);
    const events: WorkerEvent[] = [];
    const client = workerOn(root, path.join(s.dir, 'index'), { events });
    try {
      const t0 = Date.now();
      const summary = (await client.request('index', {}))[root]!;
      const seconds = (Date.now() - t0) / 1000;
      r.tried = KINDS.length + 1;
      expect(r, !events.some((e) => e.type === 'restarting' || e.type === 'gave-up'), 'the worker crashed');
      const status = (await client.request('status', {})).roots[0]!;
      expect(r, status.files >= TINY_FILES, `only ${status.files} files indexed; the tiny files should all be there`);
      const canary = await client.request('search', { query: 'retry a failed upload with exponential backoff', k: 5 });
      expect(r, canary.hits.some((h) => h.path === 'app/src/uploads.py'), 'the good files are not found');
      const index = await readIndex(path.join(s.dir, 'index'));
      for (const kind of KINDS) {
        for (const p of kind.absent ?? []) expect(r, !index.files.has(p), `${kind.name}: ${JSON.stringify(p)} was indexed`);
        if (kind.findable) {
          const found = await client.request('search', { query: kind.findable.word, k: 3, mode: 'lexical' });
          expect(r, found.hits[0]?.path === kind.findable.path, `${kind.name}: keyword search for its word finds ${JSON.stringify(found.hits[0]?.path)}`);
        }
      }
      // Every file the scan saw is either indexed or counted under a reason.
      const skipped = Object.values(summary.filesSkipped).reduce((a, b) => a + b, 0);
      expect(r, summary.filesSkipped['binary']! >= 2 && (summary.filesSkipped['too-large'] ?? 0) + (summary.filesSkipped['minified'] ?? 0) >= 3, `skip reasons missing: ${JSON.stringify(summary.filesSkipped)}`);
      expect(r, (summary.filesSkipped['symlink-loop'] ?? 0) + (summary.filesSkipped['broken-symlink'] ?? 0) >= 2, `symbolic links not reported: ${JSON.stringify(summary.filesSkipped)}`);
      const notes = summary.warnings.join('\n');
      expect(r, ['pipe.py', 'sock.py', 'names/bad'].every((p) => notes.includes(p)), `the pipe, the socket or the unopenable name is not named in the notes`);
      r.figures = { 'files scanned': summary.filesScanned, 'files indexed': status.files, 'files skipped': skipped, 'skip reasons': Object.entries(summary.filesSkipped).map(([k, n]) => `${k} ${n}`).join(', '), 'index seconds': Math.round(seconds) };
      expectNotes(r, summary);
    } finally {
      await client.dispose();
    }
  } finally {
    s.dispose();
  }
  return r;
}

/** Files that could not be read leave a note the user can act on. */
function expectNotes(r: Row, summary: IndexSummary): void {
  expect(r, summary.warnings.every((w) => w.length < 2_000 && !/\n\s+at /.test(w)), 'a note carries a stack trace or is unreadably long');
}

/** A damaged index, a damaged model, and queries of the wrong shape. */
export async function badStateRow(): Promise<Row> {
  const r = row('bad state', 'corrupt shard, truncated manifest, future manifest, corrupt or missing model, 100 KB / empty / punctuation queries');
  const s = scratch('state');
  const root = path.join(s.dir, 'repo');
  const indexDir = path.join(s.dir, 'index');
  try {
    copyCorpus(root);
    const clean = workerOn(root, indexDir);
    await clean.request('index', {});
    const answers = await searchAll(clean);
    await clean.dispose();
    const reference = await readIndex(indexDir);
    const shardDirs = readdirSync(path.join(indexDir, 'shards')).filter((d) => existsSync(path.join(indexDir, 'shards', d, 'index.json')));

    const damages: { name: string; damage(): void; note: RegExp }[] = [
      { name: 'corrupt shard', damage: () => writeFileSync(path.join(indexDir, 'shards', shardDirs[0]!, 'index.json'), '{"version":1,"items":[{"id":'), note: /unreadable shard/ },
      { name: 'shard cut in half', damage: () => truncateSync(path.join(indexDir, 'shards', shardDirs[1]!, 'index.json'), 100), note: /unreadable shard/ },
      { name: 'garbage keyword file', damage: () => keywordFiles(indexDir).slice(0, 3).forEach((f) => writeFileSync(f, 'not keywords')), note: /keyword/ },
      { name: 'truncated manifest', damage: () => truncateSync(path.join(indexDir, 'manifest.json'), 20), note: /damaged/ },
      { name: 'manifest of a future version', damage: () => writeFileSync(path.join(indexDir, 'manifest.json'), JSON.stringify({ ...JSON.parse(readFileSync(path.join(indexDir, 'manifest.json'), 'utf8')), formatVersion: 99 })), note: /newer Nearby/ },
      { name: 'manifest without fields', damage: () => writeFileSync(path.join(indexDir, 'manifest.json'), '{}'), note: /damaged/ },
    ];
    for (const d of damages) {
      r.tried++;
      d.damage();
      const client = workerOn(root, indexDir);
      try {
        const first = await client.request('search', { query: 'retry a failed upload', k: 5 });
        const summary = (await client.request('index', {}))[root]!;
        const said = [first.degraded ?? '', ...summary.warnings].join('\n');
        expect(r, d.note.test(said), `${d.name}: neither the search nor the index run says what happened (${said.slice(0, 300) || 'nothing'})`);
        const again = await searchAll(client);
        expect(r, again.every((a, i) => JSON.stringify(a) === JSON.stringify(answers[i])), `${d.name}: after one index run the 20 queries answer otherwise than before the damage`);
      } catch (err) {
        expect(r, false, `${d.name}: ${(err as Error).message}`);
      } finally {
        await client.dispose();
      }
      const diff = compareIndexes(await readIndex(indexDir), reference);
      expect(r, diff.length === 0, `${d.name}: the repaired index differs from a clean build: ${diff.join('; ')}`);
    }

    // Models: a corrupt ONNX file and a folder without a model fail once, with their cause.
    const broken = path.join(s.dir, 'broken-model');
    cpSync(path.join(BUNDLED_MODELS, 'nearby-code-small'), broken, { recursive: true });
    for (const f of readdirSync(path.join(broken, 'onnx'))) writeFileSync(path.join(broken, 'onnx', f), 'this is not an ONNX graph');
    const emptyModel = path.join(s.dir, 'no-model');
    mkdirSync(emptyModel);
    for (const [name, model, want] of [['corrupt ONNX file', broken, /model/i], ['model folder without a model', emptyModel, /model/i]] as const) {
      r.tried++;
      const events: WorkerEvent[] = [];
      const client = workerOn(root, path.join(s.dir, `index-${r.tried}`), { model, events, maxRestarts: 3 });
      const t0 = Date.now();
      try {
        await client.start();
        expect(r, false, `${name}: the worker started`);
      } catch (err) {
        const message = (err as Error).message;
        expect(r, err instanceof WorkerError && want.test(message) && !/\n\s+at /.test(message), `${name}: unclear error: ${message.slice(0, 300)}`);
        expect(r, Date.now() - t0 < 30_000, `${name}: took ${Date.now() - t0} ms to fail`);
        expect(r, !events.some((e) => e.type === 'restarting'), `${name}: restarted a worker that cannot load its model`);
      } finally {
        await client.dispose();
      }
    }

    // Queries of the wrong shape: an answer or a clear refusal, and the worker still serves.
    const client = workerOn(root, indexDir);
    try {
      for (const [name, query] of [['100 KB query', 'retry upload '.repeat(8_000)], ['empty query', ''], ['whitespace query', ' \n\t '], ['punctuation-only query', '!@#$%^&*()[]{};:,.<>/?\\|`~'], ['emoji query', '\u{1f680}\u{1f525}'], ['NUL in query', 'retry\0upload']] as const) {
        r.tried++;
        for (const mode of ['hybrid', 'vector', 'lexical'] as const) {
          try {
            const reply = await client.request('search', { query, k: 5, mode });
            expect(r, Array.isArray(reply.hits), `${name} (${mode}): no hits array`);
          } catch (err) {
            expect(r, err instanceof WorkerError && err.code === 'bad-request', `${name} (${mode}): ${(err as Error).message}`);
          }
        }
      }
      const after = await searchAll(client);
      expect(r, after.every((a, i) => JSON.stringify(a) === JSON.stringify(answers[i])), 'the worker answers otherwise after the bad queries');
    } finally {
      await client.dispose();
    }
  } finally {
    s.dispose();
  }
  return r;
}

function keywordFiles(indexDir: string): string[] {
  const shards = path.join(indexDir, 'shards');
  return readdirSync(shards).flatMap((d) => readdirSync(path.join(shards, d)).filter((f) => f.startsWith('keywords-')).map((f) => path.join(shards, d, f)));
}
