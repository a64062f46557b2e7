import * as vscode from 'vscode';
import type { RootHit } from '../worker/protocol';
import type { NearbyConfig } from './config';
import type { IndexService } from './indexService';
import { describeLocation, openLocation, type Location } from './locations';

interface HitItem extends vscode.QuickPickItem {
  hit: RootHit;
}

const DEBOUNCE_MS = 150;

/**
 * `Nearby: Search by Meaning`: results as you type. Only the latest query's answer is shown:
 * every request carries a sequence number and older answers are dropped on arrival.
 */
export async function showSearchPick(service: IndexService, config: () => NearbyConfig, initial = ''): Promise<void> {
  const pick = vscode.window.createQuickPick<HitItem>();
  pick.title = 'Nearby: Search by Meaning';
  pick.placeholder = 'Describe what you are looking for, e.g. "retry failed uploads"';
  pick.matchOnDescription = true;
  pick.matchOnDetail = true;
  pick.value = initial;
  let seq = 0;
  let timer: NodeJS.Timeout | undefined;
  let accepted = false;
  const previous = vscode.window.activeTextEditor;
  // The test facet: tests, examples and the like are held back unless this is on.
  let withTests = false;
  const testsButton = (): vscode.QuickInputButton => ({
    iconPath: new vscode.ThemeIcon(withTests ? 'beaker-stop' : 'beaker'),
    tooltip: withTests ? 'Hide tests and examples' : 'Include tests and examples',
  });
  pick.buttons = [testsButton()];

  const run = async (query: string) => {
    const mine = ++seq;
    if (query.trim().length < 2) {
      pick.items = [];
      pick.busy = false;
      return;
    }
    pick.busy = true;
    try {
      const { hits, degraded, heldBack } = await service.search(query, undefined, config().resultCount, withTests ? ['test', 'example', 'config', 'generated', 'vendored'] : undefined);
      if (mine !== seq) return;
      const held = Object.entries(heldBack ?? {}).map(([role, n]) => `${n} ${role}`).join(', ');
      const notes = [degraded, held && `held back: ${held} (beaker button shows them)`].filter(Boolean);
      pick.title = notes.length > 0 ? `Nearby: Search by Meaning (${notes.join('; ')})` : 'Nearby: Search by Meaning';
      // The workbench would filter our ranked items by its own fuzzy match; keep them all.
      pick.items = hits.map((hit) => ({
        label: hit.symbol ? `$(symbol-${hit.kind === 'doc' ? 'string' : 'function'}) ${hit.symbol}` : firstLine(hit.preview) || hit.path,
        description: `${describeLocation(toLocation(hit))}  ·  ${hit.band ? `${hit.band} match` : hit.score.toFixed(2)}${hit.role && hit.role !== 'source' && hit.role !== 'docs' ? `  ·  ${hit.role}` : ''}`,
        detail: hit.symbol ? definitionLine(hit.preview, hit.symbol) : firstLine(hit.preview, 2),
        alwaysShow: true,
        hit,
      }));
      if (hits.length === 0) pick.placeholder = 'No results yet: the index may still be building';
    } catch (err) {
      if (mine !== seq) return;
      pick.items = [];
      void vscode.window.showWarningMessage(`Nearby: search failed: ${(err as Error).message}`);
    } finally {
      if (mine === seq) pick.busy = false;
    }
  };

  pick.onDidTriggerButton(() => {
    withTests = !withTests;
    pick.buttons = [testsButton()];
    void run(pick.value);
  });
  pick.onDidChangeValue((value) => {
    clearTimeout(timer);
    timer = setTimeout(() => void run(value), DEBOUNCE_MS);
  });
  pick.onDidChangeActive(([item]) => {
    if (item) void openLocation(toLocation(item.hit), { preview: true, preserveFocus: true });
  });
  pick.onDidAccept(() => {
    const [item] = pick.selectedItems;
    if (!item) return;
    accepted = true;
    pick.hide();
    void openLocation(toLocation(item.hit));
  });
  const hidden = new Promise<void>((resolve) => pick.onDidHide(() => resolve()));
  pick.show();
  if (initial) void run(initial);
  await hidden;
  clearTimeout(timer);
  seq++;
  pick.dispose();
  // Browsing results previews them; leaving without choosing goes back to where the user was.
  if (!accepted && previous) {
    await vscode.window.showTextDocument(previous.document, { selection: previous.selection, viewColumn: previous.viewColumn, preview: false });
  }
}

export function toLocation(hit: RootHit): Location {
  return { root: hit.root, path: hit.path, start: hit.startLine, end: hit.endLine };
}

/** The preview line that introduces the symbol (past imports and decorators), else the first. */
function definitionLine(preview: string | undefined, symbol: string): string {
  const name = symbol.split(/\.| > /).pop()!;
  const lines = (preview ?? '').split('\n').map((l) => l.trim()).filter(Boolean);
  return (lines.find((l) => l.includes(name)) ?? lines[0] ?? '').slice(0, 120);
}

function firstLine(preview: string | undefined, nth = 1): string {
  const lines = (preview ?? '').split('\n').map((l) => l.trim()).filter(Boolean);
  return (lines[nth - 1] ?? '').slice(0, 120);
}
