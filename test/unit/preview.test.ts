import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { queryTerms } from '../../src/core/search/codeTokens';
import { previewOf } from '../../src/core/search/preview';

const FILE = [
  'import time', // 1
  'import random', // 2
  '', // 3
  '', // 4
  'def retry_upload(client, path, attempts=5):', // 5
  '    """Upload a file, retrying with backoff."""', // 6
  '    for attempt in range(attempts):', // 7
  '        try:', // 8
  '            return client.put(path)', // 9
  '        except IOError:', // 10
  '            delay = 0.5 * 2 ** attempt', // 11
  '            time.sleep(delay + random.random())', // 12
  '    raise UploadError(path)', // 13
];

describe('previews', () => {
  test('start at the definition, not the imports above it, then show what matched', () => {
    const p = previewOf(FILE, 1, { startLine: 1, endLine: 13, symbol: 'retry_upload' }, queryTerms('sleep between attempts with a delay'), 3);
    assert.equal(p.at[0], 5, 'the signature first');
    assert.deepEqual(p.at, [5, 11, 12]);
    assert.equal(p.text.split('\n')[0], 'def retry_upload(client, path, attempts=5):');
  });

  test('with nothing matched, the lines after the signature', () => {
    const p = previewOf(FILE, 1, { startLine: 1, endLine: 13, symbol: 'retry_upload' }, [], 3);
    assert.deepEqual(p.at, [5, 6, 7]);
  });

  test('a later part of a long definition shows the definition line above it', () => {
    const p = previewOf(FILE, 1, { startLine: 10, endLine: 13, symbol: 'retry_upload' }, queryTerms('raise an error'), 2);
    assert.deepEqual(p.at, [5, 13]);
  });

  test('a doc comment standing above its function shows the function line below it', () => {
    const js = ['/**', ' * Sets a cookie.', ' * @param name', ' */', 'res.cookie = function cookie(name, value) {', '  return this;', '};'];
    const p = previewOf(js, 1, { startLine: 1, endLine: 4, symbol: 'res.cookie' }, queryTerms('set a cookie'), 3);
    assert.deepEqual(p.at, [1, 2, 5]);
  });

  test('a hit without a symbol shows its own best lines', () => {
    const p = previewOf(FILE, 1, { startLine: 7, endLine: 13 }, queryTerms('raise UploadError'), 2);
    assert.deepEqual(p.at, [12, 13]);
  });
});
