/**
 * Nearby's parts list. Activation only registers commands and views and schedules the first index
 * pass; the model, the scan and everything heavy start in the worker process afterwards.
 */
import { performance } from 'node:perf_hooks';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { CommandId, PANEL_VIEW_ID } from './vscode/commandIds';
import { NearbyConfig } from './vscode/config';
import { findSimilar } from './vscode/findSimilar';
import { IndexService } from './vscode/indexService';
import { LiveIndex } from './vscode/liveIndex';
import { MapView } from './vscode/map/mapView';
import { RangeCompare } from './vscode/compareRanges';
import { PanelProvider } from './vscode/panel/panelProvider';
import { showSearchPick } from './vscode/searchPick';
import { StatusBar } from './vscode/statusBar';
import { firstIndexProgress, reportStartFailure } from './vscode/notifications';

export function activate(context: vscode.ExtensionContext): void {
  const started = performance.now();
  const log = vscode.window.createOutputChannel('Nearby', { log: true });
  let config = NearbyConfig.read();
  const storage = context.storageUri ?? context.globalStorageUri;
  const service = new IndexService(context.extensionUri, path.join(storage.fsPath, 'index'), path.join(context.globalStorageUri.fsPath, 'models'), config, log);
  const ranges = new RangeCompare();
  const panel = new PanelProvider(context.extensionUri, service, () => config, log, ranges);
  const live = new LiveIndex(service);
  const map = new MapView(context.extensionUri, service, () => config, log);
  context.subscriptions.push(log, service, ranges, panel, live, map, new StatusBar(service));

  const startIndexing = async () => {
    const first = firstIndexProgress(service);
    await service.indexAll();
    first.dispose();
    if (service.state.kind === 'error') reportStartFailure(service.state.message, log, startIndexing);
  };

  const command = (id: CommandId, run: () => unknown) => context.subscriptions.push(vscode.commands.registerCommand(id, run));
  command(CommandId.Search, () => showSearchPick(service, () => config));
  command(CommandId.FindSimilar, () => findSimilar(service, panel, map, config));
  command(CommandId.Pause, () => service.pause());
  command(CommandId.Resume, () => service.resume());
  command(CommandId.Cancel, () => service.cancel());
  command(CommandId.Rebuild, () => service.rebuild());
  command(CommandId.ShowPanel, () => vscode.commands.executeCommand(`${PANEL_VIEW_ID}.focus`));
  command(CommandId.ShowLogs, () => log.show());
  command(CommandId.ShowDupes, () => panel.showDupes());
  command(CommandId.ShowMap, () => map.show());

  context.subscriptions.push(
    vscode.workspace.onDidChangeConfiguration(async (e) => {
      if (!e.affectsConfiguration('nearby') && !e.affectsConfiguration('files.exclude') && !e.affectsConfiguration('search.exclude')) return;
      const next = NearbyConfig.read();
      const excludesChanged = e.affectsConfiguration('files.exclude') || e.affectsConfiguration('search.exclude');
      if (next.isEqualTo(config) && !excludesChanged) return;
      const modelChanged = next.modelSpec !== config.modelSpec;
      if (modelChanged) {
        const choice = await vscode.window.showInformationMessage(`Nearby: switch to ${next.modelSpec}? The index will be rebuilt with the new model.`, 'Rebuild Now', 'Later');
        if (choice !== 'Rebuild Now') return;
      }
      config = next;
      await service.applyConfig(next, excludesChanged);
    }),
    vscode.workspace.onDidChangeWorkspaceFolders(() => service.applyConfig(config, true)),
  );

  if (config.indexOnStartup && service.folders.length > 0) setTimeout(() => void startIndexing(), 0);
  log.info(`activated in ${(performance.now() - started).toFixed(1)} ms`);
}

export function deactivate(): void {
  // Disposables registered on the context stop the worker; it commits what it has before exiting.
}
