import * as path from 'node:path';
import * as vscode from 'vscode';
import type { NearbyConfig } from './config';
import type { IndexService } from './indexService';
import type { MapView } from './map/mapView';
import type { PanelProvider } from './panel/panelProvider';

/**
 * `Nearby: Find Similar`: the selection, or the function around the cursor when nothing is
 * selected, compared with every indexed chunk; results go to the panel, and onto the map when it is open.
 */
export async function findSimilar(service: IndexService, panel: PanelProvider, map: MapView, config: NearbyConfig): Promise<void> {
  const editor = vscode.window.activeTextEditor;
  if (!editor) {
    void vscode.window.showInformationMessage('Nearby: open a file and select some code to find similar code.');
    return;
  }
  const folder = vscode.workspace.getWorkspaceFolder(editor.document.uri);
  if (!folder || folder.uri.scheme !== 'file') {
    void vscode.window.showInformationMessage('Nearby: Find Similar works on files inside the open workspace folders.');
    return;
  }
  const relPath = path.relative(folder.uri.fsPath, editor.document.uri.fsPath).split(path.sep).join('/');
  const sel = editor.selection;
  const start = sel.start.line + 1;
  // A selection ending at column 0 of a line does not include that line.
  const end = sel.isEmpty ? start : Math.max(start, sel.end.character === 0 ? sel.end.line : sel.end.line + 1);
  const text = sel.isEmpty ? undefined : editor.document.getText(sel);
  if (text !== undefined && text.trim() === '') {
    void vscode.window.showInformationMessage('Nearby: the selection is blank.');
    return;
  }
  const what = sel.isEmpty ? `the code around ${relPath}:${start}` : `${relPath}:${start}-${end}`;
  try {
    const reply = await vscode.window.withProgress({ location: { viewId: 'nearby.panel' }, title: 'Finding similar code' }, () =>
      service.similar(folder.uri.fsPath, relPath, start, end, text, config.resultCount),
    );
    await panel.showSimilar(`Similar to ${what}`, folder.uri.fsPath, reply);
    map.showSimilar(folder.uri.fsPath, reply);
  } catch (err) {
    void vscode.window.showWarningMessage(`Nearby: Find Similar failed: ${(err as Error).message}`);
  }
}
