// End-to-end tests of Nearby inside a real VS Code (code-server), driven by Playwright in
// Debian's chromium. Run with `npm run test:e2e` (it installs the host on first use).
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe } from 'node:test';
import { failFastTests, withTimeout } from './failFast.mjs';
import { PROJECT, addReportClones, copyWorkspace, logFiles, logTail, startCodeServer } from './codeServer.mjs';
import { Workbench, launchBrowser } from './workbench.mjs';

const SHOTS = path.join(PROJECT, 'test-results');
const XSS_NAME = '<img src=x onerror=alert(1)>.md';

let page;
let userData;
const test = failFastTests({ shots: SHOTS, prefix: '', page: () => page, userData: () => userData });

describe('Nearby in VS Code', { timeout: 600_000 }, () => {
  let dir, server, browser, wb, workspace;
  let dialogs;

  before(async () => {
    mkdirSync(SHOTS, { recursive: true });
    dir = mkdtempSync(path.join(os.tmpdir(), 'nearby-e2e-'));
    workspace = copyWorkspace(path.join(PROJECT, 'test', 'fixtures', 'repo'), path.join(dir, 'workspace'));
    addReportClones(workspace);
    // A test of the upload retry: held back from a plain question, shown by the Show facet.
    mkdirSync(path.join(workspace, 'tests'), { recursive: true });
    writeFileSync(path.join(workspace, 'tests', 'test_uploads.py'), 'from src.uploads import retry_upload\n\n\ndef test_retry_upload_retries_failed_uploads_with_backoff(flaky_client):\n    """Failed uploads are retried with exponential backoff until one succeeds."""\n    assert retry_upload(flaky_client, "a.bin", attempts=3) == "ok"\n    assert flaky_client.calls == 3\n');
    writeFileSync(path.join(workspace, 'docs', XSS_NAME), '# Hostile file\n\nThis page explains the script tag <script>alert("owned")</script> and image onerror handlers.\n');
    server = await startCodeServer({ workspace, dataDir: path.join(dir, 'data') });
    userData = server.userData;
    ({ browser, page, dialogs } = await launchBrowser());
    wb = new Workbench(page);
    await wb.open(server.url);
  });

  after(async () => {
    await withTimeout(browser?.close(), 15_000).catch((err) => console.error(`closing the browser: ${err.message}`));
    await server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('status bar reaches "ready" and activation was light', async () => {
    // An error state ends the wait at once: the log tail says why.
    await wb.statusItem(/Nearby: (ready|error)/).waitFor({ timeout: 180_000 });
    assert.equal(await wb.statusItem(/Nearby: error/).count(), 0, 'the extension reported an error');
    const activation = findLogLine(server.userData, /activated in ([\d.]+) ms/);
    assert.ok(activation, 'the extension logs its activation time');
    console.log(`activation: ${activation[1]} ms`);
  });

  test('palette search opens the right file and range', async () => {
    await wb.runCommand('Nearby: Search by Meaning');
    await page.keyboard.type('retry failed uploads with exponential backoff');
    const row = page.locator('.quick-input-list .monaco-list-row', { hasText: 'retry_upload' }).first();
    await row.waitFor({ timeout: 30_000 });
    await page.screenshot({ path: path.join(SHOTS, 'palette.png') });
    await row.click();
    await wb.activeTab('uploads.py').waitFor({ timeout: 20_000 });
    await wb.statusItem(/Ln 1[89], Col \d+ \(\d+ selected\)/).waitFor({ timeout: 10_000 });
  });

  test('sidebar search shows results and a click opens the range', async () => {
    const panel = await wb.openPanel();
    await panel.locator('#q').fill('read the application configuration from a json file');
    const hit = panel.locator('.hit').first().filter({ hasText: 'load_config' });
    await hit.waitFor({ timeout: 30_000 });
    await page.screenshot({ path: path.join(SHOTS, 'panel-dark.png') });
    await hit.click();
    await wb.activeTab('settings.py').waitFor({ timeout: 20_000 });
    await wb.statusItem(/\(\d+ selected\)/).waitFor({ timeout: 10_000 });
  });

  test('the panel holds tests back and says so, shows them with its facet, and bands every hit', async () => {
    const panel = await wb.openPanel();
    await panel.locator('#roles').selectOption('');
    await panel.locator('#q').fill('retry failed uploads with exponential backoff');
    await panel.locator('.hit').first().filter({ hasText: 'retry_upload' }).waitFor({ timeout: 30_000 });
    await panel.locator('#held-text', { hasText: /1 test hit/ }).waitFor({ timeout: 10_000 });
    assert.equal(await panel.locator('.hit', { hasText: 'tests/test_uploads.py' }).count(), 0, 'the test is held back');
    const bands = await panel.locator('.hit .hit-score').allTextContents();
    assert.ok(bands.length > 1 && bands.every((b) => /^(strong|possible|weak) · cos -?\d\.\d\d$/.test(b)), `bands: ${bands.join(' | ')}`);
    assert.match(bands[0], /^strong/, 'the answer is a strong match');
    assert.equal(await panel.locator('.weak-line').count(), 1, 'a line marks where matches turn weak');
    await page.screenshot({ path: path.join(SHOTS, 'panel-bands.png') });
    await panel.locator('#held-show').click();
    await panel.locator('.hit', { hasText: 'tests/test_uploads.py' }).first().waitFor({ timeout: 30_000 });
    assert.notEqual(await panel.locator('#roles').inputValue(), '', 'the facet shows what is included');
    await page.screenshot({ path: path.join(SHOTS, 'panel-tests-facet.png') });
    await panel.locator('#roles').selectOption('');
  });

  test('Find Similar on a selection lists similar code in the panel', async () => {
    await wb.openFile('validation.ts');
    await wb.selectLines(3, 6);
    await wb.contextMenu('Find Similar');
    const panel = wb.panel();
    await panel.locator('#heading', { hasText: 'Similar to src/validation.ts:3-6' }).waitFor({ timeout: 30_000 });
    const hits = panel.locator('.hit');
    await hits.first().waitFor({ timeout: 10_000 });
    const texts = await hits.allTextContents();
    assert.ok(texts.some((t) => t.includes('isStrongPassword')), `similar results: ${texts.map((t) => t.slice(0, 60)).join(' | ')}`);
    assert.ok(!texts.some((t) => t.includes('src/validation.ts:3-')), 'the selection itself is left out');
    // The score's tooltip gives both parts of Find Similar's ranking.
    const tooltip = await hits.first().locator('.hit-score').getAttribute('title');
    assert.match(tooltip ?? '', /^similarity \d\.\d\d\nmeaning: cosine \d\.\d\d\nshape: \d\.\d\d/, tooltip ?? 'no tooltip');
    await page.screenshot({ path: path.join(SHOTS, 'find-similar.png') });
  });

  test('a file written on disk shows up in results within seconds', async () => {
    writeFileSync(path.join(workspace, 'src', 'fibonacci.py'), 'def fibonacci_numbers(count):\n    """Return the first count Fibonacci numbers."""\n    a, b = 0, 1\n    out = []\n    for _ in range(count):\n        out.append(a)\n        a, b = b, a + b\n    return out\n');
    const panel = await wb.openPanel();
    const started = Date.now();
    await panel.locator('#q').fill('');
    await panel.locator('#q').fill('first fibonacci numbers sequence');
    for (;;) {
      if ((await panel.locator('.hit', { hasText: 'fibonacci_numbers' }).count()) > 0) break;
      assert.ok(Date.now() - started < 20_000, 'the new file was not searchable within 20 s');
      await page.waitForTimeout(500);
      await panel.locator('#q').press('Enter');
    }
    console.log(`new file searchable after ${Date.now() - started} ms`);
  });

  test('hostile file names and snippets render as inert text', async () => {
    const panel = await wb.openPanel();
    await panel.locator('#q').fill('script tag and image onerror handlers');
    const hit = panel.locator('.hit', { hasText: XSS_NAME }).first();
    await hit.waitFor({ timeout: 30_000 });
    assert.match(await hit.textContent(), /<script>alert\("owned"\)<\/script>/);
    assert.equal(await panel.locator('#results img, #results script').count(), 0, 'no element was created from file contents');
    assert.deepEqual(dialogs, [], 'no script ran');
    await page.screenshot({ path: path.join(SHOTS, 'panel-hostile.png') });
  });

  test('1,000 fuzzed webview messages open nothing outside the workspace and break nothing', async () => {
    const outside = mkdtempSync(path.join(os.tmpdir(), 'nearby-e2e-outside-'));
    writeFileSync(path.join(outside, 'secret.txt'), 'outside the workspace\n');
    symlinkSync(outside, path.join(workspace, 'escape'));
    try {
      const panel = await wb.openPanel();
      await panel.locator('#q').fill('retry failed uploads');
      await panel.locator('.hit').first().waitFor({ timeout: 30_000 });
      // Posted through the channel the panel script's postMessage uses (the webview host's relay).
      const frame = await panelHostFrame(page);
      const exceptions = () => (logTail(userData, 100_000).match(/TypeError|ReferenceError|RangeError|Unhandled|uncaught/gi) ?? []).length;
      const exceptionsBefore = exceptions();
      // Every hostile path once as a well-formed open and as the second side of a compare, one at a
      // time, noting every tab that appears; then random messages in a burst.
      const hostile = ['escape/secret.txt', '../secret.txt', '../../../etc/passwd', '/etc/passwd', 'C:\\Windows\\win.ini', '\\\\server\\share\\x', 'command:workbench.action.terminal.new', 'file:///etc/passwd', `${outside}/secret.txt`, '%2e%2e/secret.txt'];
      const targeted = hostile.flatMap((p) => [{ type: 'open', root: workspace, path: p, start: 1, end: 1 }, { type: 'compare', a: { root: workspace, path: 'src/uploads.py', start: 1, end: 5 }, b: { root: workspace, path: p, start: 1, end: 1 } }, { type: 'open', root: outside, path: 'secret.txt', start: 1, end: 1 }]);
      const seenTabs = new Set();
      for (const message of targeted) {
        await frame.evaluate((m) => window['__vscode_post_message__']('onmessage', { message: m }), message);
        await page.waitForTimeout(150);
        for (const t of await page.locator('.tab').allTextContents()) seenTabs.add(t);
      }
      const sent = targeted.length + await frame.evaluate(({ root, outsideDir, targetedCount }) => {
        let state = 20261207;
        const rand = (n) => ((state = (Math.imul(state, 1664525) + 1013904223) >>> 0), state % n);
        const paths = ['src/uploads.py', 'escape/secret.txt', 'escape', '../secret.txt', '../../../etc/passwd', '/etc/passwd', 'C:\\Windows\\win.ini', '\\\\server\\share\\x',
          'command:workbench.action.terminal.new', 'file:///etc/passwd', `${outsideDir}/secret.txt`, 'src/../../x', 'a\u0000b', '', '.', '..', '%2e%2e/secret.txt', '~/.ssh/id_rsa'];
        const junk = () => [null, undefined, 0, -1, 1.5, 1e308, NaN, true, 'x'.repeat(100_000), [], {}, { toString: 'x' }, '<img src=x onerror=alert(1)>'][rand(13)];
        const pick = (xs) => xs[rand(xs.length)];
        const loc = () => ({ root: rand(5) === 0 ? junk() : pick([root, root, outsideDir, '/', `${root}/..`]), path: pick(paths), start: rand(4) === 0 ? junk() : 1 + rand(20), end: rand(4) === 0 ? junk() : 20 + rand(20) });
        const post = window['__vscode_post_message__'];
        for (let i = 0; i < 1000 - targetedCount; i++) {
          const type = pick(['open', 'compare', 'search', 'command', 'dupes', 'eval', 'postMessage', junk()]);
          let message;
          if (rand(3) === 0) message = junk();
          else if (type === 'open') message = { type, ...loc() };
          else if (type === 'compare') message = { type, a: loc(), b: rand(3) === 0 ? junk() : loc() };
          else if (type === 'search') message = { type, seq: rand(4) === 0 ? junk() : 10_000 + i, query: rand(3) === 0 ? junk() : pick(['retry', '<script>alert(1)</script>', 'x'.repeat(5000)]), filters: rand(3) === 0 ? junk() : { glob: junk(), language: pick(['python', '"; alert(1)', junk()]), include: junk() } };
          else if (type === 'command') message = { type, command: pick(['workbench.action.terminal.new', 'vscode.open', junk()]) };
          else message = { type, extra: junk() };
          post('onmessage', { message });
        }
        return 1000 - targetedCount;
      }, { root: workspace, outsideDir: outside, targetedCount: targeted.length });
      assert.equal(sent, 1000);
      await page.waitForTimeout(3_000);
      for (const t of await page.locator('.tab').allTextContents()) seenTabs.add(t);
      const tabs = [...seenTabs];
      assert.ok(!tabs.some((t) => /secret\.txt|passwd|win\.ini|Terminal/.test(t)), `a tab opened outside the workspace: ${tabs.join(' | ')}`);
      assert.deepEqual(dialogs, [], 'no script ran');
      // The extension still answers a real search.
      await page.keyboard.press('Escape');
      const again = await wb.openPanel();
      await again.locator('#q').fill('exponential backoff for uploads');
      await again.locator('#q').press('Enter');
      await again.locator('.hit', { hasText: 'uploads.py' }).first().waitFor({ timeout: 30_000 });
      assert.equal(exceptions(), exceptionsBefore, `an exception in the extension host:\n${logTail(userData)}`);
    } finally {
      rmSync(path.join(workspace, 'escape'), { force: true });
      rmSync(outside, { recursive: true, force: true });
    }
  });

  test('near-duplicates are grouped in the panel and Compare opens a diff', async () => {
    await wb.runCommand('Nearby: Show Near-Duplicates');
    const panel = wb.panel();
    const group = panel.locator('.group', { hasText: 'report.py' }).first();
    await group.waitFor({ timeout: 60_000 });
    await group.locator('.group-head').click();
    const members = await group.locator('.member-link').allTextContents();
    assert.ok(members.some((m) => m.startsWith('src/weekly_report.py')) && members.some((m) => m.startsWith('src/monthly_report.py')), `members: ${members.join(' | ')}`);
    await page.screenshot({ path: path.join(SHOTS, 'dupes.png') });
    await group.locator('.compare').first().click();
    await page.locator('.tab.active', { hasText: '↔' }).waitFor({ timeout: 20_000 });
    // Both sides hold the member's lines: the renamed loop variable differs, the rest matches.
    const diff = page.locator('.monaco-diff-editor').first();
    await diff.locator('.view-lines', { hasText: 'for sale in sales' }).first().waitFor({ timeout: 20_000 });
    await diff.locator('.view-lines', { hasText: 'for order in orders' }).first().waitFor({ timeout: 20_000 });
    await page.screenshot({ path: path.join(SHOTS, 'dupes-compare.png') });
  });

  test('Find Similar marks a copy of the selection as a clone and compares the two', async () => {
    await wb.openFile('weekly_report.py');
    await wb.selectLines(1, 11);
    await page.keyboard.press('Control+Alt+M'); // its keybinding (the context menu is tested above)
    const panel = wb.panel();
    await panel.locator('#heading', { hasText: 'Similar to src/weekly_report.py:1-11' }).waitFor({ timeout: 30_000 });
    const copy = panel.locator('.hit', { hasText: 'monthly_report.py' }).first();
    await copy.waitFor({ timeout: 10_000 });
    await copy.locator('.hit-dupe', { hasText: 'textual clone' }).waitFor({ timeout: 5_000 });
    await copy.scrollIntoViewIfNeeded();
    await page.screenshot({ path: path.join(SHOTS, 'find-similar-clone.png') });
    await copy.locator('.hit-dupe .compare').click();
    await page.locator('.tab.active', { hasText: '↔' }).waitFor({ timeout: 20_000 });
    await page.locator('.monaco-diff-editor .view-lines', { hasText: 'for sale in sales' }).first().waitFor({ timeout: 20_000 });
  });

  test('the panel follows the light theme', async () => {
    await wb.runCommand('Preferences: Color Theme');
    await page.keyboard.type('Light Modern');
    await page.locator('.quick-input-list .monaco-list-row', { hasText: 'Light Modern' }).first().click();
    await page.locator('.monaco-workbench.vs:not(.vs-dark)').waitFor({ timeout: 20_000 });
    const panel = await wb.openPanel();
    await panel.locator('#q').fill('check whether an email address is valid');
    await panel.locator('.hit').first().filter({ hasText: 'isValidEmail' }).waitFor({ timeout: 30_000 });
    await page.screenshot({ path: path.join(SHOTS, 'panel-light.png') });
  });

  test('switching to another model asks first, rebuilds the index with it, and search works', async () => {
    // A user's own model folder (here the tests' contextual encoder), set for this workspace.
    const encoder = path.join(PROJECT, 'test', 'fixtures', 'models', 'encoder');
    mkdirSync(path.join(workspace, '.vscode'), { recursive: true });
    writeFileSync(path.join(workspace, '.vscode', 'settings.json'), JSON.stringify({ 'nearby.modelPath': encoder }));
    const toast = page.locator('.notification-toast', { hasText: 'switch to' }).first();
    await toast.waitFor({ timeout: 30_000 });
    await page.screenshot({ path: path.join(SHOTS, 'switch-model.png') });
    await toast.locator('.monaco-button', { hasText: 'Rebuild Now' }).click();
    await waitFor(() => findLogLine(server.userData, /model nearby-code-base \(256-d/), 90_000, 'the worker loads the encoder');
    await waitFor(() => findLogLine(server.userData, /model nearby-code-base[^]*indexed \S+: \d+ files \(0 unchanged/), 120_000, 'the index is rebuilt after the switch');
    await wb.statusItem(/Nearby: ready/).waitFor({ timeout: 60_000 });
    const panel = await wb.openPanel();
    await panel.locator('#status', { hasText: 'nearby-code-base' }).waitFor({ timeout: 30_000 });
    await panel.locator('#q').fill('retry failed uploads with exponential backoff');
    await panel.locator('.hit').first().filter({ hasText: 'retry_upload' }).waitFor({ timeout: 30_000 });
    await page.screenshot({ path: path.join(SHOTS, 'panel-encoder-tier.png') });
  });
});

async function waitFor(check, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

function findLogLine(root, pattern) {
  for (const p of logFiles(root)) {
    const m = pattern.exec(readFileSync(p, 'utf8'));
    if (m) return m;
  }
  return undefined;
}

/** The webview host frame around the panel: it relays what the panel's script posts to the extension. */
async function panelHostFrame(page) {
  for (const frame of page.frames()) {
    const isPanel = await frame.evaluate(() => Boolean(document.getElementById('q') && document.getElementById('results'))).catch(() => false);
    const host = isPanel ? frame.parentFrame() : null;
    if (host && (await host.evaluate(() => typeof window['__vscode_post_message__'] === 'function').catch(() => false))) return host;
  }
  throw new Error('the panel frame was not found');
}
