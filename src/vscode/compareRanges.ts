import * as vscode from 'vscode';
import { Disposable } from './dispose';
import { resolveInWorkspace, type Location } from './locations';

const SCHEME = 'nearby-range';

/**
 * Opens VS Code's diff editor on two line ranges (two members of a near-duplicate group). Each
 * side is a read-only document holding just that range, served from the file as the editor has it.
 */
export class RangeCompare extends Disposable implements vscode.TextDocumentContentProvider {
  constructor() {
    super();
    this.register(vscode.workspace.registerTextDocumentContentProvider(SCHEME, this));
  }

  async provideTextDocumentContent(uri: vscode.Uri): Promise<string> {
    const loc = JSON.parse(uri.query) as Location;
    const file = resolveInWorkspace(loc);
    if (!file) return '';
    const doc = await vscode.workspace.openTextDocument(file);
    const last = Math.min(loc.end, doc.lineCount);
    return doc.getText(new vscode.Range(loc.start - 1, 0, last - 1, doc.lineAt(last - 1).text.length));
  }

  /** False when either side is not a file inside the workspace. */
  async compare(a: Location, b: Location): Promise<boolean> {
    if (!resolveInWorkspace(a) || !resolveInWorkspace(b)) return false;
    const side = (l: Location) => vscode.Uri.from({ scheme: SCHEME, path: `/${l.path}`, query: JSON.stringify(l) });
    const label = (l: Location) => `${l.path}:${l.start}-${l.end}`;
    await vscode.commands.executeCommand('vscode.diff', side(a), side(b), `${label(a)} ↔ ${label(b)}`, { preview: true });
    return true;
  }
}
