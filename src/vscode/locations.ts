import * as path from 'node:path';
import * as vscode from 'vscode';
import { containedRealPath } from './containedPath';

export interface Location {
  root: string;
  path: string;
  start: number;
  end: number;
}

/**
 * Resolves a location to a file inside one of the open workspace folders, or undefined. Anything
 * a webview sends goes through here: a path that climbs out of its folder (`../`), an absolute
 * path, or a root that is not a workspace folder is refused.
 */
export function resolveInWorkspace(loc: Location): vscode.Uri | undefined {
  const folder = (vscode.workspace.workspaceFolders ?? []).find((f) => f.uri.scheme === 'file' && f.uri.fsPath === loc.root);
  const abs = folder && containedRealPath(folder.uri.fsPath, loc.path);
  return abs ? vscode.Uri.file(abs) : undefined;
}

/** A file's workspace folder and its path inside it (`/`-separated), for files in one. */
export function workspaceRelative(uri: vscode.Uri): { root: string; path: string } | undefined {
  if (uri.scheme !== 'file') return undefined;
  const folder = vscode.workspace.getWorkspaceFolder(uri);
  if (!folder) return undefined;
  const rel = path.relative(folder.uri.fsPath, uri.fsPath).split(path.sep).join('/');
  return rel && !rel.startsWith('..') ? { root: folder.uri.fsPath, path: rel } : undefined;
}

export function rangeOf(loc: Location): vscode.Range {
  return new vscode.Range(Math.max(0, loc.start - 1), 0, Math.max(0, loc.end - 1), Number.MAX_SAFE_INTEGER);
}

/** Opens the location with its lines selected; `preview` keeps the editor tab transient. */
export async function openLocation(loc: Location, options: { preview?: boolean; preserveFocus?: boolean } = {}): Promise<boolean> {
  const uri = resolveInWorkspace(loc);
  if (!uri) return false;
  const range = rangeOf(loc);
  const editor = await vscode.window.showTextDocument(uri, {
    selection: range,
    preview: options.preview ?? false,
    preserveFocus: options.preserveFocus ?? false,
  });
  editor.revealRange(range, vscode.TextEditorRevealType.InCenterIfOutsideViewport);
  return true;
}

/** `folder/path:line` when several folders are open, `path:line` otherwise. */
export function describeLocation(loc: Location): string {
  const folders = vscode.workspace.workspaceFolders ?? [];
  const prefix = folders.length > 1 ? `${folders.find((f) => f.uri.fsPath === loc.root)?.name ?? path.basename(loc.root)}/` : '';
  return `${prefix}${loc.path}:${loc.start}`;
}
