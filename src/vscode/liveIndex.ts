import * as vscode from 'vscode';
import { Disposable } from './dispose';
import type { IndexService } from './indexService';
import { workspaceRelative } from './locations';

/** Past this many changed files in one burst, one incremental pass over everything is cheaper. */
const FULL_PASS_THRESHOLD = 300;
const DEBOUNCE_MS = 400;
/** Churn inside these folders never reaches the index; dropping it here saves worker round trips. */
const NOISY_SEGMENTS = new Set(['.git', 'node_modules', '.hg', '.svn']);

/**
 * Keeps the index fresh: saves, creates, deletes and renames are collected per folder and sent to
 * the worker after a short quiet period, so a branch switch or `git pull` becomes one run.
 */
export class LiveIndex extends Disposable {
  private readonly changed = new Map<string, Set<string>>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> = Promise.resolve();

  constructor(private readonly service: IndexService) {
    super();
    const watcher = this.register(vscode.workspace.createFileSystemWatcher('**/*'));
    this.register(watcher.onDidCreate((uri) => this.note(uri)));
    this.register(watcher.onDidChange((uri) => this.note(uri)));
    this.register(watcher.onDidDelete((uri) => this.note(uri)));
    this.register({ dispose: () => clearTimeout(this.timer) });
  }

  private note(uri: vscode.Uri): void {
    const file = workspaceRelative(uri);
    if (!file || file.path.split('/').some((s) => NOISY_SEGMENTS.has(s))) return;
    let set = this.changed.get(file.root);
    if (!set) this.changed.set(file.root, (set = new Set()));
    set.add(file.path);
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.flush(), DEBOUNCE_MS);
  }

  private flush(): void {
    if (this.isDisposed || this.changed.size === 0) return;
    const s = this.service.state.kind;
    // The first full pass (or a paused one) will see these files anyway; nothing is lost by waiting.
    if (s === 'off' || s === 'starting' || s === 'paused') return;
    const batch = new Map<string, string[]>();
    let total = 0;
    for (const [root, set] of this.changed) {
      batch.set(root, [...set]);
      total += set.size;
    }
    this.changed.clear();
    // Runs queue in the worker anyway; chaining here keeps at most one request in flight.
    this.running = this.running.then(() => (total > FULL_PASS_THRESHOLD ? this.service.indexAll() : this.service.indexPaths(batch)));
  }
}
