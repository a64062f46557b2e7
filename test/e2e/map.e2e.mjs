// The map of meaning inside a real VS Code (code-server, Playwright, Debian's chromium): the map
// tab and the sidebar's map, a search and Find Similar drawn on them, near-duplicates marked, the
// keyboard, hostile messages from the map's webview, and screenshots in the dark, light and high
// contrast themes. Its own workspace: the tests' small repository plus Nearby's own sources, so
// that the map has regions worth naming.
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe } from 'node:test';
import { failFastTests } from './failFast.mjs';
import { PROJECT, addReportClones, copyWorkspace, logTail, startCodeServer } from './codeServer.mjs';
import { Workbench, launchBrowser } from './workbench.mjs';

const SHOTS = path.join(PROJECT, 'test-results');
let page;
let userData;
const test = failFastTests({ shots: SHOTS, prefix: 'map-', page: () => page, userData: () => userData });

/** Resident memory (MB) of the extension host that code-server `group` forked. */
function extensionHostRssMb(group) {
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const pgrp = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
      if (pgrp !== group || !readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('extensionHost')) continue;
      return Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;
    } catch {
      // gone meanwhile
    }
  }
  throw new Error('no extension host found');
}

/** The frame of a webview whose page has an element `#id` (the map tab: #regions; the sidebar: #results). */
async function webviewFrame(id, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    for (const frame of page.frames()) {
      if (await frame.evaluate((x) => Boolean(document.getElementById(x)), id).catch(() => false)) return frame;
    }
    if (Date.now() > deadline) throw new Error(`no webview with #${id} after ${timeoutMs} ms`);
    await page.waitForTimeout(250);
  }
}

async function setTheme(wb, name, selector) {
  await wb.runCommand('Preferences: Color Theme');
  await page.locator('.quick-input-widget input').fill(name);
  await page.locator('.quick-input-list .monaco-list-row', { hasText: name }).first().click();
  await page.locator(selector).waitFor({ timeout: 20_000 });
}

describe('the map in VS Code', { timeout: 900_000 }, () => {
  let dir, server, browser, wb, workspace, map, hostBefore;
  let dialogs;

  before(async () => {
    mkdirSync(SHOTS, { recursive: true });
    dir = mkdtempSync(path.join(os.tmpdir(), 'nearby-e2e-map-'));
    workspace = copyWorkspace(path.join(PROJECT, 'test', 'fixtures', 'repo'), path.join(dir, 'workspace'));
    cpSync(path.join(PROJECT, 'src'), path.join(workspace, 'nearby'), { recursive: true });
    addReportClones(workspace);
    server = await startCodeServer({ workspace, dataDir: path.join(dir, 'data') });
    userData = server.userData;
    ({ browser, page, dialogs } = await launchBrowser());
    wb = new Workbench(page);
    await wb.open(server.url);
    await wb.statusItem(/Nearby: (ready|error)/).waitFor({ timeout: 240_000 });
    assert.equal(await wb.statusItem(/Nearby: error/).count(), 0, 'the extension reported an error');
  });

  after(async () => {
    await browser?.close().catch(() => {});
    await server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('the map tab lays out the workspace in named regions, coloured by folder', async () => {
    hostBefore = extensionHostRssMb(server.pid);
    await wb.runCommand('Nearby: Show Map of the Workspace');
    map = await webviewFrame('regions');
    await map.locator('#status', { hasText: /chunks in [\d,]+ files/ }).waitFor({ timeout: 60_000 });
    const status = await map.locator('#status').textContent();
    console.log(`map: ${status}`);
    assert.match(status, /\d+% of nearest neighbours kept/);
    const regions = await map.locator('#regions .region').allTextContents();
    assert.ok(regions.length >= 5, `regions: ${regions.join(' | ')}`);
    assert.ok(regions.filter((r) => /^\S+ · \S+/.test(r)).length >= regions.length * 0.8, `most regions are named: ${regions.join(' | ')}`);
    const legend = await map.locator('#legend li').allTextContents();
    assert.ok(legend.some((l) => l.startsWith('nearby')) && legend.some((l) => l.startsWith('src')), `legend: ${legend.join(' | ')}`);
    await page.screenshot({ path: path.join(SHOTS, 'map-dark.png') });
    // A region chosen from the list is zoomed to, its name on the map.
    await map.locator('#regions .region').first().click();
    await page.waitForTimeout(300);
    await page.screenshot({ path: path.join(SHOTS, 'map-region-dark.png') });
    await map.locator('#reset').click();
  });

  test('a search lights up its hits by rank, and the keyboard steps to one and opens it', async () => {
    await map.locator('#q').fill('retry failed uploads with exponential backoff');
    await map.locator('#q').press('Enter');
    await map.locator('#hits-heading', { hasText: /results for .* on the map/ }).waitFor({ timeout: 30_000 });
    await page.screenshot({ path: path.join(SHOTS, 'map-search-dark.png') });
    await map.locator('#map canvas').focus();
    await page.keyboard.press('n');
    await map.locator('#info .info-title', { hasText: 'uploads.py' }).waitFor({ timeout: 5_000 });
    // The chunk's own lines, read by the extension from inside the workspace.
    await map.locator('#info .preview', { hasText: 'def retry_upload' }).waitFor({ timeout: 5_000 });
    await page.keyboard.press('Enter');
    await wb.activeTab('uploads.py').waitFor({ timeout: 20_000 });
  });

  test('Find Similar draws the selection and its neighbourhood on the map, and near-duplicates are marked', async () => {
    await wb.openFile('weekly_report.py');
    await wb.selectLines(1, 11);
    await page.keyboard.press('Control+Alt+M');
    const panel = await webviewFrame('results');
    await panel.locator('#heading', { hasText: 'Similar to src/weekly_report.py:1-11' }).waitFor({ timeout: 30_000 });
    await page.locator('.tab', { hasText: 'Nearby Map' }).first().click();
    await map.locator('#hits-heading', { hasText: /Like src\/weekly_report\.py:1-11 \(the star\): \d+ neighbours/ }).waitFor({ timeout: 30_000 });
    await page.screenshot({ path: path.join(SHOTS, 'map-similar-dark.png') });
    await map.locator('#show-dupes').check();
    await map.locator('#hits-heading', { hasText: /near-duplicate groups; [1-9]\d* of their chunks marked/ }).waitFor({ timeout: 60_000 });
    await page.screenshot({ path: path.join(SHOTS, 'map-dupes-dark.png') });
  });

  test('the sidebar shows the map with its results lit, and opens the larger map', async () => {
    await wb.runCommand('Nearby: Show Panel');
    const panel = await webviewFrame('results');
    await panel.locator('#q').fill('read the application configuration from a json file');
    await panel.locator('.hit').first().waitFor({ timeout: 30_000 });
    await panel.locator('#map-section summary').click();
    await panel.locator('#map-status', { hasText: /of \d+ results on the map/ }).waitFor({ timeout: 60_000 });
    await page.screenshot({ path: path.join(SHOTS, 'panel-map-dark.png') });
    await panel.locator('#open-map').click();
    await page.locator('.tab.active', { hasText: 'Nearby Map' }).waitFor({ timeout: 10_000 });
  });

  test('the extension host stays light: the map is laid out in the worker', async () => {
    const after = extensionHostRssMb(server.pid);
    console.log(`extension host: ${hostBefore.toFixed(0)} MB before the map, ${after.toFixed(0)} MB after the map, searches, Find Similar and near-duplicates on it`);
    assert.ok(after - hostBefore <= 50, `the extension host grew by ${(after - hostBefore).toFixed(0)} MB`);
  });

  test('hostile messages from the map tab open nothing outside the workspace', async () => {
    const outside = mkdtempSync(path.join(os.tmpdir(), 'nearby-e2e-map-outside-'));
    writeFileSync(path.join(outside, 'secret.txt'), 'outside\n');
    try {
      const host = map.parentFrame();
      const hostile = ['../secret.txt', '/etc/passwd', `${outside}/secret.txt`, 'file:///etc/passwd', 'command:workbench.action.terminal.new', '%2e%2e/secret.txt'];
      // Every preview the extension answers with, as the map page receives it.
      await map.evaluate(() => {
        window.previewsSeen = [];
        window.addEventListener('message', (e) => e.data && e.data.type === 'preview' && window.previewsSeen.push(e.data));
      });
      const messages = [
        ...hostile.flatMap((p) => [{ type: 'open', root: workspace, path: p, start: 1, end: 1 }, { type: 'preview', root: workspace, path: p, start: 1, end: 1 }]),
        { type: 'preview', root: outside, path: 'secret.txt', start: 1, end: 1 },
        // A control: a file of the workspace is previewed.
        { type: 'preview', root: workspace, path: 'src/uploads.py', start: 1, end: 3 },
        { type: 'open', root: outside, path: 'secret.txt', start: 1, end: 1 },
        { type: 'search', query: 'x'.repeat(100_000) },
        { type: 'refresh', extra: '<img src=x onerror=alert(1)>' },
        { type: 'eval', code: 'alert(1)' },
        null,
        'open',
      ];
      for (const message of messages) await host.evaluate((m) => window['__vscode_post_message__']('onmessage', { message: m }), message);
      await page.waitForTimeout(2_000);
      const tabs = await page.locator('.tab').allTextContents();
      assert.ok(!tabs.some((t) => /secret|passwd|Terminal/.test(t)), `a tab opened outside the workspace: ${tabs.join(' | ')}`);
      assert.deepEqual(dialogs, [], 'no script ran');
      assert.match(logTail(userData, 2_000), /map: dropped a malformed message|map: refused to open/);
      const previews = await map.evaluate(() => window.previewsSeen);
      assert.deepEqual(previews.map((p) => p.location.path), ['src/uploads.py'], 'only the workspace file was read');
    } finally {
      rmSync(outside, { recursive: true, force: true });
    }
  });

  test('a folder filter fades the rest of the map', async () => {
    await map.locator('#filter').fill('src/');
    await map.locator('#filter-count', { hasText: /^\d+ shown$/ }).waitFor({ timeout: 5_000 });
    const shown = Number((await map.locator('#filter-count').textContent()).split(' ')[0]);
    assert.ok(shown > 0 && shown < 200, `${shown} points shown by the filter src/`);
    await map.locator('#filter').fill('');
  });

  test('the map follows the light and the high contrast themes', async () => {
    await setTheme(wb, 'Light Modern', '.monaco-workbench.vs:not(.vs-dark)');
    await page.locator('.tab', { hasText: 'Nearby Map' }).first().click();
    await map.locator('#q').fill('');
    await map.locator('#q').press('Enter');
    await map.locator('#reset').click();
    const background = await map.evaluate(() => getComputedStyle(document.body).backgroundColor);
    assert.match(background, /rgb\((2[3-5]\d), (2[3-5]\d), (2[3-5]\d)\)/, `light background, got ${background}`);
    await page.screenshot({ path: path.join(SHOTS, 'map-light.png') });
    await map.locator('#regions .region').nth(1).click();
    await page.waitForTimeout(300);
    await page.screenshot({ path: path.join(SHOTS, 'map-region-light.png') });
    await map.locator('#q').fill('check whether an email address is valid');
    await map.locator('#q').press('Enter');
    await map.locator('#hits-heading', { hasText: /on the map/ }).waitFor({ timeout: 30_000 });
    await page.screenshot({ path: path.join(SHOTS, 'map-search-light.png') });
    await wb.openFile('validation.ts');
    await wb.selectLines(3, 6);
    await page.keyboard.press('Control+Alt+M');
    await page.locator('.tab', { hasText: 'Nearby Map' }).first().click();
    await map.locator('#hits-heading', { hasText: /Like src\/validation\.ts:3-6 \(the star\)/ }).waitFor({ timeout: 30_000 });
    await page.screenshot({ path: path.join(SHOTS, 'map-similar-light.png') });
    await setTheme(wb, 'Dark High Contrast', '.monaco-workbench.hc-black');
    await page.locator('.tab', { hasText: 'Nearby Map' }).first().click();
    await map.locator('body.vscode-high-contrast').waitFor({ timeout: 10_000 });
    await page.screenshot({ path: path.join(SHOTS, 'map-high-contrast.png') });
  });
});
