// Page object for the VS Code workbench: waits on conditions, never on fixed sleeps.
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { HOST } from './codeServer.mjs';

const { chromium } = createRequire(path.join(HOST, 'server', 'package.json'))('playwright-core');

/** Debian's chromium, headless, with a workbench-sized page and the dialogs it has seen. */
export async function launchBrowser() {
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  // A dialog means a script from a file or a message ran: each is noted (tests expect none) and dismissed.
  const dialogs = [];
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
  return { browser, page, dialogs };
}

export class Workbench {
  constructor(page) {
    this.page = page;
  }

  async open(url) {
    await this.page.goto(url);
    await this.page.waitForSelector('.monaco-workbench', { timeout: 90_000 });
    await this.page.waitForSelector('.statusbar', { timeout: 90_000 });
    // Commands typed before the extension host registered ours would not be found.
    await this.page.locator('.activitybar [aria-label^="Nearby"]').first().waitFor({ timeout: 90_000 });
  }

  statusItem(text) {
    return this.page.locator('.statusbar-item', { hasText: text }).first();
  }

  activeTab(name) {
    return this.page.locator('.tab.active', { hasText: name }).first();
  }

  /**
   * Runs a command from the palette. The title goes into the palette's own input (never typed at
   * whatever has focus): just after a quick pick closes, the editor it opened can take the focus
   * back and the palette with it. If the palette closes before the title is in, or the command's row
   * does not show, the palette is opened again.
   */
  async runCommand(title) {
    for (let attempt = 1; ; attempt++) {
      await this.page.keyboard.press('F1');
      const input = this.page.locator('.quick-input-widget input');
      try {
        await input.waitFor({ state: 'visible', timeout: 10_000 });
        await input.fill(`>${title}`, { timeout: 5_000 });
        await this.page.locator('.quick-input-list .monaco-list-row', { hasText: title }).first().click({ timeout: 10_000 });
        return;
      } catch (err) {
        if (attempt === 3) throw err;
        await this.page.keyboard.press('Escape');
      }
    }
  }

  panel() {
    return this.page.frameLocator('iframe.webview').frameLocator('iframe#active-frame');
  }

  /** Shows and focuses the sidebar panel by command: clicking the activity bar would toggle it. */
  async openPanel() {
    await this.runCommand('Nearby: Show Panel');
    const panel = this.panel();
    await panel.locator('#q').waitFor({ timeout: 30_000 });
    return panel;
  }

  async openFile(name) {
    await this.page.keyboard.press('Control+P');
    await this.page.waitForSelector('.quick-input-widget input');
    await this.page.keyboard.type(name);
    // The file itself, not a recently opened diff of two of its ranges (its label holds both, joined by ↔).
    await this.page.locator('.quick-input-list .monaco-list-row', { hasText: name }).filter({ hasNotText: '↔' }).first().click();
    await this.activeTab(name).filter({ hasNotText: '↔' }).waitFor({ timeout: 20_000 });
    await this.page.locator('.monaco-editor .view-lines').first().waitFor();
  }

  /** Selects whole lines `from..to` (1-based) with Go to Line and shift+arrows. */
  async selectLines(from, to) {
    await this.page.locator('.editor-group-container.active .monaco-editor .view-lines').first().click();
    await this.page.keyboard.press('Control+G');
    await this.page.keyboard.type(String(from));
    await this.page.keyboard.press('Enter');
    await this.page.keyboard.press('Home');
    for (let i = from; i < to; i++) await this.page.keyboard.press('Shift+ArrowDown');
    await this.page.keyboard.press('Shift+End');
  }

  /**
   * Opens the editor context menu from the keyboard, so the selection stays as it is, and picks
   * `label`. A click that lands while the menu is still appearing does nothing: then the item,
   * hovered and so focused, is taken with Enter.
   */
  async contextMenu(label) {
    await this.page.keyboard.press('Shift+F10');
    const menu = this.page.locator('.context-view');
    const item = menu.getByText(label, { exact: true });
    await item.waitFor({ timeout: 20_000 });
    await item.click();
    try {
      await menu.waitFor({ state: 'hidden', timeout: 3_000 });
    } catch {
      await item.hover();
      await this.page.keyboard.press('Enter');
      await menu.waitFor({ state: 'hidden', timeout: 5_000 });
    }
  }
}
