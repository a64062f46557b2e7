import { createHash } from 'node:crypto';
import { existsSync, promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { WorkspaceMap } from '../core/map/workspaceMap';
import type { DupeReport } from '../core/dupes/types';
import type { IndexProgress, IndexSummary } from '../core/index/progress';
import { WorkerClient, WorkerError, type WorkerEvent } from '../worker/client';
import type { ModelSummary, RootConfig, SearchReply, SimilarReply, WorkerConfig } from '../worker/protocol';
import type { FileRole } from '../core/scan/fileRole';
import type { SearchFilter } from '../core/store/records';
import { editorExcludes, type NearbyConfig } from './config';
import { Disposable } from './dispose';
import { workspaceRelative } from './locations';

export type IndexState =
  | { kind: 'off' }
  | { kind: 'starting' }
  | { kind: 'indexing'; done: number; total: number; etaSeconds?: number }
  | { kind: 'paused'; done: number; total: number }
  | { kind: 'ready'; files: number; chunks: number; model: string; updatedAt: number }
  | { kind: 'error'; message: string };

/**
 * The extension's side of the worker: starts it with the workspace's folders and settings, keeps
 * the index state for the UI, and turns UI requests into worker requests. All heavy work happens
 * in the worker; this class only forwards messages and tracks state.
 */
export class IndexService extends Disposable {
  private client: WorkerClient | undefined;
  private model: ModelSummary | undefined;
  private readonly progress = new Map<string, IndexProgress>();
  private _state: IndexState = { kind: 'off' };
  private readonly stateEmitter = this.register(new vscode.EventEmitter<IndexState>());
  readonly onDidChangeState = this.stateEmitter.event;
  private readonly summaryEmitter = this.register(new vscode.EventEmitter<Record<string, IndexSummary>>());
  readonly onDidFinishIndexing = this.summaryEmitter.event;

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly storageDir: string,
    private readonly modelCacheDir: string,
    private config: NearbyConfig,
    private readonly log: vscode.LogOutputChannel,
  ) {
    super();
  }

  get state(): IndexState {
    return this._state;
  }

  get modelSummary(): ModelSummary | undefined {
    return this.model;
  }

  /** Workspace folders that are on disk (virtual file systems cannot be indexed by a process). */
  get folders(): readonly vscode.WorkspaceFolder[] {
    return (vscode.workspace.workspaceFolders ?? []).filter((f) => f.uri.scheme === 'file');
  }

  /** Starts the worker (if needed) and runs an index pass over every folder, open editors' files first. */
  async indexAll(): Promise<void> {
    await this.run({ priority: openFilesByRoot() });
  }

  /** Re-indexes only these files (saves, creates, deletes, renames). */
  async indexPaths(byRoot: Map<string, string[]>): Promise<void> {
    await this.run({ onlyPaths: Object.fromEntries(byRoot) });
  }

  /** `include`: roles shown beside source and docs (tests, examples...). */
  async search(query: string, filter: SearchFilter | undefined, k: number, include?: FileRole[]): Promise<SearchReply> {
    const client = await this.ensureClient();
    return client.request('search', { query, k, previewLines: 12, ...(filter ? { filter } : {}), ...(include?.length ? { include } : {}) });
  }

  /** `text` is the selection as the editor has it (it may be unsaved); without it, the chunk at `start`. */
  async similar(root: string, relPath: string, start: number, end: number, text: string | undefined, k: number): Promise<SimilarReply> {
    const client = await this.ensureClient();
    return client.request('similar', { root, path: relPath, start, end, k, previewLines: 12, ...(text !== undefined ? { text } : {}) });
  }

  /** Near-duplicate groups of every folder, highest impact first. */
  async dupes(limit: number): Promise<DupeReport[]> {
    const client = await this.ensureClient();
    return client.request('dupes', { limit });
  }

  /** The map of every folder's chunks (at most `maxPoints`, an even sample beyond). */
  async map(maxPoints: number): Promise<WorkspaceMap> {
    const client = await this.ensureClient();
    return client.request('map', { maxPoints });
  }

  pause(): void {
    if (this._state.kind !== 'indexing') return;
    this.client?.pause();
    this.setState({ kind: 'paused', done: this._state.done, total: this._state.total });
  }

  resume(): void {
    if (this._state.kind !== 'paused') return;
    this.client?.resume();
    this.setState({ kind: 'indexing', done: this._state.done, total: this._state.total });
  }

  cancel(): void {
    this.client?.resume();
    this.client?.cancel();
  }

  /** Throws the index away and builds it again (new model, or a user who wants a clean slate). */
  async rebuild(): Promise<void> {
    await this.stopWorker();
    await fs.rm(this.storageDir, { recursive: true, force: true });
    await this.indexAll();
  }

  /**
   * Applies new settings. The worker restarts (and re-indexes incrementally, or from scratch for a
   * new model) when a setting it uses changed, or when `force`d: new folders, new editor excludes.
   */
  async applyConfig(next: NearbyConfig, force = false): Promise<void> {
    const restart = force || next.workerKey() !== this.config.workerKey();
    this.config = next;
    if (!restart || !this.client) return;
    await this.stopWorker();
    await this.indexAll();
  }

  /** True once an index has been written for this workspace (the first pass shows a notification). */
  hasIndexOnDisk(): boolean {
    return existsSync(this.storageDir);
  }

  override dispose(): void {
    void this.stopWorker();
    super.dispose();
  }

  private async run(params: { onlyPaths?: Record<string, string[]>; priority?: Record<string, string[]> }): Promise<void> {
    let client: WorkerClient;
    try {
      client = await this.ensureClient();
      if (this._state.kind !== 'paused') this.setState({ kind: 'indexing', done: 0, total: 0 });
      const summaries = await client.request('index', params);
      for (const [root, s] of Object.entries(summaries)) {
        this.log.info(`indexed ${root}: ${s.filesIndexed} files (${s.filesUnchanged} unchanged, ${s.filesRemoved} removed), chunks ${s.chunksNew} new / ${s.chunksChanged} changed / ${s.chunksRemoved} removed / ${s.chunksReused} reused, ${s.seconds.toFixed(1)} s${s.cancelled ? ', cancelled' : ''}`);
        for (const w of s.warnings) this.log.debug(`${path.basename(root)}: ${w}`);
      }
      this.summaryEmitter.fire(summaries);
      await this.refreshReady();
    } catch (err) {
      this.fail(err);
    }
  }

  private async refreshReady(): Promise<void> {
    const client = this.client;
    if (!client) return;
    const status = await client.request('status', {});
    if (status.indexing) return;
    const files = status.roots.reduce((n, r) => n + r.files, 0);
    const chunks = status.roots.reduce((n, r) => n + r.chunks, 0);
    this.setState({ kind: 'ready', files, chunks, model: status.model?.id ?? '?', updatedAt: Date.now() });
  }

  private async ensureClient(): Promise<WorkerClient> {
    if (this.client) {
      await this.client.start();
      return this.client;
    }
    const client = new WorkerClient({
      workerPath: vscode.Uri.joinPath(this.extensionUri, 'dist', 'worker.js').fsPath,
      config: this.workerConfig(),
      onEvent: (e) => this.onWorkerEvent(e),
    });
    this.client = client;
    this.setState({ kind: 'starting' });
    try {
      this.model = await client.start();
      this.log.info(`model ${this.model.id} (${this.model.dimension}-d, max ${this.model.maxTokens} tokens) from ${this.model.source}: ${this.model.dir}`);
    } catch (err) {
      this.client = undefined;
      await client.dispose();
      throw err;
    }
    return client;
  }

  private workerConfig(): WorkerConfig {
    const roots: RootConfig[] = this.folders.map((f) => ({
      root: f.uri.fsPath,
      indexDir: path.join(this.storageDir, `${f.name.replace(/[^\w.-]/g, '_')}-${createHash('sha256').update(f.uri.fsPath).digest('hex').slice(0, 10)}`),
      ...(this.config.include.length ? { include: [...this.config.include] } : {}),
      exclude: [...this.config.exclude, ...editorExcludes(f)],
      maxFileBytes: this.config.maxFileSize,
    }));
    return {
      model: this.config.modelSpec,
      bundledModelsDir: vscode.Uri.joinPath(this.extensionUri, 'models').fsPath,
      modelCacheDir: this.modelCacheDir,
      threads: this.config.threads > 0 ? this.config.threads : Math.max(1, os.availableParallelism() - 1),
      roots,
    };
  }

  private onWorkerEvent(e: WorkerEvent): void {
    switch (e.type) {
      case 'progress': {
        this.progress.set(e.root, e.progress);
        if (this._state.kind === 'paused' || e.progress.phase !== 'indexing') return;
        let done = 0;
        let total = 0;
        for (const p of this.progress.values()) {
          done += p.filesDone;
          total += p.filesTotal;
        }
        this.setState(e.progress.etaSeconds !== undefined ? { kind: 'indexing', done, total, etaSeconds: e.progress.etaSeconds } : { kind: 'indexing', done, total });
        return;
      }
      case 'log':
        this.log[e.level](e.message);
        return;
      case 'download':
        this.log.info(`downloading ${e.file}: ${(e.loadedBytes / 1e6).toFixed(1)} MB${e.totalBytes ? ` of ${(e.totalBytes / 1e6).toFixed(1)} MB` : ''}`);
        return;
      case 'restarting':
        this.log.warn(`worker ${e.reason}; restarting in ${e.delayMs} ms (attempt ${e.attempt})`);
        return;
      case 'gave-up':
        this.setState({ kind: 'error', message: `the background indexer stopped (${e.reason})` });
        return;
    }
  }

  private fail(err: unknown): void {
    if (err instanceof WorkerError && err.code === 'worker-stopped') return;
    const message = err instanceof Error ? err.message : String(err);
    this.log.error(message);
    this.setState({ kind: 'error', message });
  }

  private async stopWorker(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    this.progress.clear();
    await client?.dispose();
    this.setState({ kind: 'off' });
  }

  private setState(state: IndexState): void {
    this._state = state;
    this.stateEmitter.fire(state);
  }
}

/** Files open in editor tabs (the active one among them), by workspace folder. */
function openFilesByRoot(): Record<string, string[]> {
  const uris = [vscode.window.activeTextEditor?.document.uri, ...vscode.window.tabGroups.all.flatMap((g) => g.tabs.map((t) => t.input))]
    .map((x) => (x instanceof vscode.TabInputText ? x.uri : x instanceof vscode.Uri ? x : undefined));
  const byRoot: Record<string, string[]> = {};
  for (const uri of uris) {
    const file = uri && workspaceRelative(uri);
    if (file) (byRoot[file.root] ??= []).push(file.path);
  }
  return byRoot;
}
