import * as vscode from 'vscode';
import { CommandId } from './commandIds';
import { Disposable } from './dispose';
import type { IndexService, IndexState } from './indexService';

/** The status bar item: what the index is doing, one click from the panel. */
export class StatusBar extends Disposable {
  private readonly item = this.register(vscode.window.createStatusBarItem('nearby.status', vscode.StatusBarAlignment.Left, 10));

  constructor(service: IndexService) {
    super();
    this.item.name = 'Nearby';
    this.item.command = CommandId.ShowPanel;
    this.register(service.onDidChangeState((s) => this.render(s)));
    this.render(service.state);
    this.item.show();
  }

  private render(state: IndexState): void {
    void vscode.commands.executeCommand('setContext', 'nearby.state', state.kind);
    this.item.backgroundColor = undefined;
    switch (state.kind) {
      case 'off':
        this.item.text = '$(search) Nearby';
        this.item.tooltip = 'Nearby: not indexing. Click to open the panel.';
        return;
      case 'starting':
        this.item.text = '$(loading~spin) Nearby: starting';
        this.item.tooltip = 'Nearby: loading the model';
        return;
      case 'indexing': {
        const pct = state.total > 0 ? Math.floor((100 * state.done) / state.total) : 0;
        this.item.text = `$(sync~spin) Nearby: indexing ${state.done}/${state.total} (${pct}%)`;
        this.item.tooltip = `Nearby is indexing in the background${state.etaSeconds !== undefined ? `, about ${formatEta(state.etaSeconds)} left` : ''}. Search works meanwhile.`;
        return;
      }
      case 'paused':
        this.item.text = `$(debug-pause) Nearby: paused ${state.done}/${state.total}`;
        this.item.tooltip = 'Nearby: indexing paused. Run "Nearby: Resume Indexing" to continue.';
        return;
      case 'ready':
        this.item.text = '$(check) Nearby: ready';
        this.item.tooltip = `Nearby: ${state.files} files, ${state.chunks} chunks indexed with ${state.model}`;
        return;
      case 'error':
        this.item.text = '$(error) Nearby: error';
        this.item.tooltip = `Nearby: ${state.message}`;
        this.item.backgroundColor = new vscode.ThemeColor('statusBarItem.errorBackground');
        return;
    }
  }
}

export function formatEta(seconds: number): string {
  if (seconds < 60) return `${seconds} s`;
  const m = Math.round(seconds / 60);
  return m < 60 ? `${m} min` : `${Math.floor(m / 60)} h ${m % 60} min`;
}
