import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { symlinkSync } from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { decodeSource, readSourceFile } from '../../src/core/scan/readSourceFile';
import { scanFiles, scanPaths } from '../../src/core/scan/scanner';
import { tempTree } from '../helpers/tempTree';

const paths = (r: Awaited<ReturnType<typeof scanFiles>>) => r.files.map((f) => f.path).sort();

describe('scanFiles', () => {
  test('honours nested .gitignore files, negations and .nearbyignore', async () => {
    const t = tempTree({
      '.gitignore': '*.log\n!keep.log\nsecret/\n',
      'a.ts': 'x',
      'debug.log': 'x',
      'keep.log': 'x',
      'secret/key.ts': 'x',
      'pkg/.gitignore': 'generated.ts\n!debug.log\n',
      'pkg/generated.ts': 'x',
      'pkg/debug.log': 'x',
      'pkg/main.ts': 'x',
      '.nearbyignore': 'docs/drafts/\n',
      'docs/drafts/wip.md': 'x',
      'docs/guide.md': 'x',
    });
    try {
      const r = await scanFiles(t.root);
      assert.deepEqual(paths(r), ['a.ts', 'docs/guide.md', 'keep.log', 'pkg/debug.log', 'pkg/main.ts']);
      assert.equal(r.skipped.counts.get('ignored'), 4);
    } finally {
      t.dispose();
    }
  });

  test('default excludes: VCS, dependencies, build output, lockfiles, minified bundles', async () => {
    const t = tempTree({
      '.git/config': 'x',
      'node_modules/lib/index.js': 'x',
      'dist/out.js': 'x',
      'package-lock.json': '{}',
      'app.min.js': 'x',
      'src/app.js': 'x',
    });
    try {
      assert.deepEqual(paths(await scanFiles(t.root)), ['src/app.js']);
    } finally {
      t.dispose();
    }
  });

  test('include and exclude globs', async () => {
    const t = tempTree({ 'src/a.ts': 'x', 'src/a.test.ts': 'x', 'lib/b.py': 'x', 'README.md': 'x' });
    try {
      const r = await scanFiles(t.root, { include: ['src/**', '**/*.md'], exclude: ['**/*.test.ts'] });
      assert.deepEqual(paths(r), ['README.md', 'src/a.ts']);
      assert.equal(r.skipped.counts.get('excluded'), 2);
    } finally {
      t.dispose();
    }
  });

  test('size cap skips large files with the reason', async () => {
    const t = tempTree({ 'big.txt': 'x'.repeat(2_000), 'small.txt': 'x' });
    try {
      const r = await scanFiles(t.root, { maxFileBytes: 1_000 });
      assert.deepEqual(paths(r), ['small.txt']);
      assert.equal(r.skipped.counts.get('too-large'), 1);
      assert.match(r.skipped.samples[0]!.detail!, /2000 bytes/);
    } finally {
      t.dispose();
    }
  });

  test('symlink loops and broken links are skipped, linked files are kept', async () => {
    const t = tempTree({ 'real/a.ts': 'x' });
    try {
      symlinkSync(path.join(t.root, 'real'), path.join(t.root, 'real', 'loop'));
      symlinkSync(path.join(t.root, 'missing'), path.join(t.root, 'dangling.ts'));
      symlinkSync(path.join(t.root, 'real', 'a.ts'), path.join(t.root, 'alias.ts'));
      const r = await scanFiles(t.root);
      assert.deepEqual(paths(r), ['alias.ts', 'real/a.ts']);
      assert.equal(r.skipped.counts.get('symlink-loop'), 1);
      assert.equal(r.skipped.counts.get('broken-symlink'), 1);
    } finally {
      t.dispose();
    }
  });
});

describe('scanPaths', () => {
  test('a long scan lets the event loop turn, and files come in the order of the walk', async () => {
    const files: Record<string, string> = {};
    for (let i = 0; i < 3000; i++) files[`d${String(i % 60).padStart(2, '0')}/e${String(i).padStart(4, '0')}/f.ts`] = 'x';
    const t = tempTree(files);
    try {
      let turns = 0;
      let turning = true;
      const turn = () => {
        turns++;
        if (turning) setImmediate(turn);
      };
      setImmediate(turn);
      const started = performance.now();
      const r = await scanFiles(t.root);
      const took = performance.now() - started;
      turning = false;
      assert.equal(r.files.length, 3000);
      assert.deepEqual(r.files.map((f) => f.path), Object.keys(files).sort(), 'depth first, names in order');
      // It asks the file system synchronously (see scanFiles): turns come from its pauses alone.
      assert.ok(took < 40 || turns >= 2, `the event loop turned ${turns} times in a ${took.toFixed(0)} ms scan`);
    } finally {
      t.dispose();
    }
  });

  test('applies the same rules as a full scan to a few paths', async () => {
    const t = tempTree({
      '.gitignore': '*.log\nsecret/\n',
      'a.ts': 'x',
      'debug.log': 'x',
      'secret/key.ts': 'x',
      'pkg/.gitignore': '!keep.log\n',
      'pkg/keep.log': 'x',
      'pkg/sub/deep.py': 'x',
      'node_modules/x/index.js': 'x',
    });
    try {
      const asked = ['a.ts', 'debug.log', 'secret/key.ts', 'pkg/keep.log', 'pkg/sub/deep.py', 'node_modules/x/index.js', 'gone.ts'];
      const some = await scanPaths(t.root, asked);
      const all = await scanFiles(t.root);
      assert.deepEqual(paths(some), paths(all));
      assert.deepEqual(paths(some), ['a.ts', 'pkg/keep.log', 'pkg/sub/deep.py']);
    } finally {
      t.dispose();
    }
  });
});

describe('readSourceFile', () => {
  test('binary content is refused', () => {
    const r = decodeSource(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x00, 0x01, 0x02]));
    assert.deepEqual(r.ok ? 'ok' : r.reason, 'binary');
  });

  test('non-UTF-8 text is decoded as Latin-1, not lost', () => {
    const r = decodeSource(Buffer.from('caf\xe9 = "cr\xe8me"\n', 'latin1'));
    assert.ok(r.ok);
    assert.equal(r.encoding, 'latin1');
    assert.equal(r.text, 'café = "crème"\n');
  });

  test('UTF-16 with a BOM and UTF-8 with a BOM are decoded', () => {
    const le = decodeSource(Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('def f(): pass', 'utf16le')]));
    assert.ok(le.ok && le.text === 'def f(): pass' && le.encoding === 'utf16le');
    const bom = decodeSource(Buffer.from('\ufeffhello', 'utf8'));
    assert.ok(bom.ok && bom.text === 'hello');
  });

  test('minified code is refused, a long line in a normal file is kept', () => {
    const minified = decodeSource(Buffer.from(`var a=${'1+'.repeat(3_000)}1;`));
    assert.deepEqual(minified.ok ? 'ok' : minified.reason, 'minified');
    const normal = decodeSource(Buffer.from(`${'line\n'.repeat(20)}const table = "${'x'.repeat(3_000)}";\n`));
    assert.ok(normal.ok);
  });

  test('a path that became unreadable (here: a directory) is reported, not thrown', () => {
    const t = tempTree({ 'was-a-file/inner.txt': 'x' });
    try {
      const r = readSourceFile(path.join(t.root, 'was-a-file'), 1_000_000);
      assert.deepEqual(r.ok ? 'ok' : r.reason, 'unreadable');
    } finally {
      t.dispose();
    }
  });

  test('a FIFO where a file was is refused without waiting for a writer, and a file over the cap is not read', () => {
    const t = tempTree({ 'big.ts': 'x'.repeat(5_000) });
    try {
      execFileSync('mkfifo', [path.join(t.root, 'pipe.ts')]);
      const fifo = readSourceFile(path.join(t.root, 'pipe.ts'), 1_000_000);
      assert.deepEqual(fifo.ok ? 'ok' : [fifo.reason, fifo.detail], ['unreadable', 'not a regular file']);
      const big = readSourceFile(path.join(t.root, 'big.ts'), 4_096);
      assert.deepEqual(big.ok ? 'ok' : [big.reason, big.detail], ['too-large', '5000 bytes > 4096']);
    } finally {
      t.dispose();
    }
  });

  test('a file that vanished is reported as such', () => {
    const t = tempTree();
    try {
      const r = readSourceFile(path.join(t.root, 'gone.ts'), 1_000_000);
      assert.deepEqual(r.ok ? 'ok' : r.reason, 'vanished');
    } finally {
      t.dispose();
    }
  });
});
