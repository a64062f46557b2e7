// The packaged extension as a user gets it: build the platform .vsix, install it into a fresh
// code-server with no network, point it at a local model folder, and search.
import { execFileSync } from 'node:child_process';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { PROJECT, copyWorkspace, logTail, startCodeServer } from './codeServer.mjs';
import { Workbench, launchBrowser } from './workbench.mjs';

const SHOTS = path.join(PROJECT, 'test-results');

describe('the packaged .vsix', { timeout: 600_000 }, () => {
  let dir, server, browser, page, wb;

  before(async () => {
    mkdirSync(SHOTS, { recursive: true });
    dir = mkdtempSync(path.join(os.tmpdir(), 'nearby-vsix-'));
    const vsix = path.join(dir, 'nearby.vsix');
    execFileSync(process.execPath, [path.join(PROJECT, 'scripts', 'package.mjs'), '--out', vsix], { stdio: 'inherit' });
    const workspace = copyWorkspace(path.join(PROJECT, 'test', 'fixtures', 'repo'), path.join(dir, 'workspace'));
    // A model folder outside the extension, as a user without network would configure it.
    const modelDir = path.join(dir, 'my-model');
    execFileSync('cp', ['-r', path.join(PROJECT, 'models', 'nearby-code-small'), modelDir]);
    server = await startCodeServer({ workspace, dataDir: path.join(dir, 'data'), vsix, settings: { 'nearby.modelPath': modelDir } });
    ({ browser, page } = await launchBrowser());
    wb = new Workbench(page);
    await wb.open(server.url);
  });

  after(async () => {
    await Promise.race([browser?.close(), new Promise((r) => setTimeout(r, 15_000))]);
    await server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('installs, indexes with the local model folder and answers a search', async () => {
    try {
      await wb.statusItem(/Nearby: (ready|error)/).waitFor({ timeout: 180_000 });
      assert.equal(await wb.statusItem(/Nearby: error/).count(), 0, 'the extension reported an error');
      await wb.runCommand('Nearby: Search by Meaning');
      await page.keyboard.type('read the application configuration from a json file');
      await page.locator('.quick-input-list .monaco-list-row').first().filter({ hasText: 'load_config' }).waitFor({ timeout: 30_000 });
    } catch (err) {
      await page.screenshot({ path: path.join(SHOTS, 'failed-vsix.png') }).catch(() => {});
      console.error(`extension log at the failure:\n${logTail(server.userData)}`);
      throw err;
    }
  });
});
