import assert from 'node:assert/strict';
import { symlinkSync } from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { containedPath, containedRealPath } from '../../src/vscode/containedPath';
import { tempTree } from '../helpers/tempTree';
import { parsePanelMessage } from '../../src/vscode/panel/panelProtocol';
import { isHostMessage, isWorkerMessage } from '../../src/worker/protocol';

describe('worker protocol guards', () => {
  const config = { bundledModelsDir: '/m', modelCacheDir: '/c', threads: 1, roots: [{ root: '/r', indexDir: '/i' }] };

  test('accepts well-formed requests', () => {
    assert.ok(isHostMessage({ type: 'init', id: 1, config }));
    assert.ok(isHostMessage({ type: 'search', id: 2, query: 'q', k: 5, filter: { kind: 'code', languages: ['go'] } }));
    assert.ok(isHostMessage({ type: 'similar', id: 3, root: '/r', path: 'a.py', start: 1, end: 4, text: 'x' }));
    assert.ok(isHostMessage({ type: 'index', id: 4, onlyPaths: { '/r': ['a.py'] } }));
    assert.ok(isHostMessage({ type: 'index', id: 5, priority: { '/r': ['a.py'], '/s': [] } }));
    assert.ok(isHostMessage({ type: 'cancel' }));
  });

  test('rejects malformed requests', () => {
    assert.ok(!isHostMessage(null));
    assert.ok(!isHostMessage({ type: 'search', query: 'no id' }));
    assert.ok(!isHostMessage({ type: 'search', id: 1, query: 42 }));
    assert.ok(!isHostMessage({ type: 'search', id: 1, query: 'q', filter: { kind: 'binary' } }));
    assert.ok(!isHostMessage({ type: 'similar', id: 1, root: '/r', path: 'a', start: '1', end: 2 }));
    assert.ok(!isHostMessage({ type: 'init', id: 1, config: { ...config, threads: 'all' } }));
    assert.ok(!isHostMessage({ type: 'index', id: 1, onlyPaths: { '/r': [1] } }));
    assert.ok(!isHostMessage({ type: 'index', id: 1, priority: ['a.py'] }));
    assert.ok(!isHostMessage({ type: 'index', id: 1, priority: { '/r': 'a.py' } }));
    assert.ok(!isHostMessage({ type: 'eval', id: 1 }));
  });

  test('worker messages', () => {
    assert.ok(isWorkerMessage({ type: 'result', id: 1, result: [] }));
    assert.ok(isWorkerMessage({ type: 'progress', root: '/r', progress: { phase: 'indexing' } }));
    assert.ok(!isWorkerMessage({ type: 'error', id: 1 }));
    assert.ok(!isWorkerMessage({ type: 'log', level: 'debug', message: 'x' }));
  });
});

describe('panel message validation', () => {
  test('search messages are normalised and bounded', () => {
    assert.deepEqual(parsePanelMessage({ type: 'search', seq: 3, query: 'retry', filters: { language: 'python', kind: '', glob: 'src/**' } }), {
      type: 'search', seq: 3, query: 'retry', filters: { language: 'python', glob: 'src/**' },
    });
    assert.equal(parsePanelMessage({ type: 'search', seq: 3, query: 'x'.repeat(5_000), filters: {} }), undefined);
    assert.equal(parsePanelMessage({ type: 'search', seq: 3, query: 'q', filters: { language: '"><script>' } }), undefined);
    assert.equal(parsePanelMessage({ type: 'search', seq: 3, query: 'q', filters: { kind: 'exe' } }), undefined);
    assert.deepEqual(parsePanelMessage({ type: 'search', seq: 4, query: 'q', filters: { include: ['test', 'example', 'test'] } }), { type: 'search', seq: 4, query: 'q', filters: { include: ['test', 'example'] } });
    assert.equal(parsePanelMessage({ type: 'search', seq: 4, query: 'q', filters: { include: ['binaries'] } }), undefined, 'only known roles');
    assert.equal(parsePanelMessage({ type: 'search', seq: 4, query: 'q', filters: { include: 'test' } }), undefined);
  });

  test('open messages need a sane range', () => {
    assert.ok(parsePanelMessage({ type: 'open', root: '/r', path: 'a.py', start: 2, end: 5 }));
    assert.equal(parsePanelMessage({ type: 'open', root: '/r', path: 'a.py', start: 5, end: 2 }), undefined);
    assert.equal(parsePanelMessage({ type: 'open', root: '/r', path: 'a.py', start: 0, end: 2 }), undefined);
    assert.equal(parsePanelMessage({ type: 'open', root: '/r', path: 7, start: 1, end: 2 }), undefined);
  });

  test('only known commands pass', () => {
    assert.deepEqual(parsePanelMessage({ type: 'command', command: 'pause' }), { type: 'command', command: 'pause' });
    assert.equal(parsePanelMessage({ type: 'command', command: 'workbench.action.terminal.new' }), undefined);
    assert.equal(parsePanelMessage({ type: 'eval', code: 'x' }), undefined);
  });
});

describe('containedPath (what the panel may open)', () => {
  test('paths inside the folder resolve; escapes do not', () => {
    assert.equal(containedPath('/ws', 'src/a.py'), '/ws/src/a.py');
    assert.equal(containedPath('/ws', 'src/../b.py'), '/ws/b.py');
    assert.equal(containedPath('/ws', '..dotted/x'), '/ws/..dotted/x');
    for (const bad of ['../etc/passwd', 'src/../../x', '/etc/passwd', 'C:\\Windows\\x', 'a\0b', '', '.']) {
      assert.equal(containedPath('/ws', bad), undefined, bad);
    }
  });

  test('a symbolic link out of the folder does not lead out of it', () => {
    const outside = tempTree({ 'secret.txt': 'outside' });
    const ws = tempTree({ 'src/a.py': 'x = 1\n' });
    try {
      symlinkSync(outside.root, path.join(ws.root, 'escape'));
      symlinkSync(path.join(ws.root, 'src'), path.join(ws.root, 'inner'));
      assert.equal(containedPath(ws.root, 'escape/secret.txt'), path.join(ws.root, 'escape', 'secret.txt'), 'lexically inside');
      assert.equal(containedRealPath(ws.root, 'escape/secret.txt'), undefined, 'really outside');
      assert.equal(containedRealPath(ws.root, 'inner/a.py'), path.join(ws.root, 'inner', 'a.py'), 'a link within the folder is fine');
      assert.equal(containedRealPath(ws.root, 'src/missing.py'), undefined);
    } finally {
      ws.dispose();
      outside.dispose();
    }
  });
});
