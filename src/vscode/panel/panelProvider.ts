import * as path from 'node:path';
import * as vscode from 'vscode';
import { compareGroups } from '../../core/dupes/order';
import type { RootHit, SimilarReply } from '../../worker/protocol';
import { CommandId, PANEL_VIEW_ID } from '../commandIds';
import type { NearbyConfig } from '../config';
import { Disposable } from '../dispose';
import type { IndexService, IndexState } from '../indexService';
import { openLocation } from '../locations';
import { formatEta } from '../statusBar';
import type { RangeCompare } from '../compareRanges';
import { webviewPage } from '../webviewPage';
import { parsePanelMessage, type FromPanel, type PanelDupeGroup, type PanelHit, type ToPanel } from './panelProtocol';

// Groups shown in the panel: the ones with the most duplicated lines.
const DUPE_GROUPS = 50;

/** The sidebar: search box, filters, ranked results, Find Similar results and index status. */
export class PanelProvider extends Disposable implements vscode.WebviewViewProvider {
  private view: vscode.WebviewView | undefined;
  private pending: ToPanel[] = [];
  private similarSeq = -1;

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly service: IndexService,
    private readonly config: () => NearbyConfig,
    private readonly log: vscode.LogOutputChannel,
    private readonly ranges: RangeCompare,
  ) {
    super();
    this.register(vscode.window.registerWebviewViewProvider(PANEL_VIEW_ID, this, { webviewOptions: { retainContextWhenHidden: true } }));
    this.register(service.onDidChangeState((s) => this.post(statusMessage(s))));
  }

  resolveWebviewView(view: vscode.WebviewView): void {
    this.view = view;
    const media = vscode.Uri.joinPath(this.extensionUri, 'media');
    view.webview.options = { enableScripts: true, localResourceRoots: [media] };
    view.webview.html = this.html(view.webview, media);
    this.register(view.webview.onDidReceiveMessage((raw: unknown) => this.onMessage(raw)));
    view.onDidDispose(() => (this.view = undefined));
  }

  /** Shows Find Similar results in the panel, revealing it; near-duplicates of the selection can be compared with it. */
  async showSimilar(title: string, root: string, reply: SimilarReply): Promise<void> {
    await vscode.commands.executeCommand(`${PANEL_VIEW_ID}.focus`);
    const source = { root, path: reply.range.path, start: reply.range.startLine, end: reply.range.endLine };
    this.post({ type: 'results', seq: this.similarSeq--, mode: 'similar', title, query: '', hits: reply.hits.map(toPanelHit), source, ...(reply.degraded ? { notice: reply.degraded } : {}) });
  }

  /** Reveals the panel with its near-duplicates section open and fresh. */
  async showDupes(): Promise<void> {
    await vscode.commands.executeCommand(`${PANEL_VIEW_ID}.focus`);
    await this.loadDupes(true);
  }

  private async loadDupes(reveal: boolean): Promise<void> {
    try {
      const reports = await this.service.dupes(DUPE_GROUPS);
      const folders = vscode.workspace.workspaceFolders ?? [];
      const groups = reports
        .flatMap((r) => r.groups.map((g) => ({ g, root: r.root })))
        // Across folders in the order each folder's report lists its groups.
        .sort((x, y) => compareGroups(x.g, y.g))
        .slice(0, DUPE_GROUPS)
        .map(({ g, root }): PanelDupeGroup => ({
          id: g.id,
          kind: g.kind,
          ...(g.role && g.role !== 'source' ? { role: g.role } : {}),
          score: g.score,
          lines: g.lines,
          members: g.members.map((m) => ({ root, folder: folders.find((f) => f.uri.fsPath === root)?.name ?? path.basename(root), path: m.path, start: m.start, end: m.end, similarity: m.similarity })),
        }));
      this.post({ type: 'dupes', groups, total: reports.reduce((n, r) => n + r.total, 0), reveal });
    } catch (err) {
      this.post({ type: 'dupesError', message: (err as Error).message });
    }
  }

  private async onMessage(raw: unknown): Promise<void> {
    const message = parsePanelMessage(raw);
    if (!message) {
      this.log.warn(`panel: dropped a malformed message ${JSON.stringify(raw)?.slice(0, 200)}`);
      return;
    }
    await this.handle(message);
  }

  private async handle(message: FromPanel): Promise<void> {
    switch (message.type) {
      case 'ready': {
        const queued = this.pending;
        this.pending = [];
        this.post(statusMessage(this.service.state));
        for (const m of queued) this.post(m);
        return;
      }
      case 'search': {
        const { seq, query, filters } = message;
        try {
          const filter = {
            ...(filters.language ? { languages: [filters.language] } : {}),
            ...(filters.kind ? { kind: filters.kind } : {}),
            ...(filters.glob ? { pathGlob: filters.glob } : {}),
          };
          const { hits, degraded, heldBack } = await this.service.search(query, filter, this.config().resultCount, filters.include);
          this.post({ type: 'results', seq, mode: 'search', title: '', query, hits: hits.map(toPanelHit), ...(degraded ? { notice: degraded } : {}), ...(heldBack ? { heldBack } : {}) });
        } catch (err) {
          this.post({ type: 'error', seq, message: (err as Error).message });
        }
        return;
      }
      case 'open':
        if (!(await openLocation(message))) this.log.warn(`panel: refused to open ${message.path}: not inside a workspace folder`);
        return;
      case 'dupes':
        await this.loadDupes(false);
        return;
      case 'map':
        try {
          this.post({ type: 'map', map: await this.service.map(this.config().mapMaxPoints) });
        } catch (err) {
          this.post({ type: 'mapError', message: (err as Error).message });
        }
        return;
      case 'openMap':
        await vscode.commands.executeCommand(CommandId.ShowMap);
        return;
      case 'compare':
        if (!(await this.ranges.compare(message.a, message.b))) this.log.warn(`panel: refused to compare ${message.a.path} and ${message.b.path}: not inside a workspace folder`);
        return;
      case 'command': {
        const ids = { pause: CommandId.Pause, resume: CommandId.Resume, rebuild: CommandId.Rebuild, cancel: CommandId.Cancel } as const;
        await vscode.commands.executeCommand(ids[message.command]);
        return;
      }
    }
  }

  private post(message: ToPanel): void {
    if (this.view) void this.view.webview.postMessage(message);
    else if (message.type === 'results' || message.type === 'dupes') this.pending = [...this.pending.filter((m) => m.type !== message.type), message];
  }

  private html(webview: vscode.Webview, media: vscode.Uri): string {
    return webviewPage(webview, media, { title: 'Nearby', styles: ['panel.css'], scripts: ['mapRender.js', 'panel.js'], body: PANEL_BODY });
  }
}

const LANGUAGES: [string, string][] = [
  ['typescript', 'TypeScript'], ['tsx', 'TSX'], ['javascript', 'JavaScript'], ['python', 'Python'], ['go', 'Go'],
  ['java', 'Java'], ['ruby', 'Ruby'], ['rust', 'Rust'], ['c', 'C'], ['cpp', 'C++'], ['csharp', 'C#'], ['php', 'PHP'],
  ['markdown', 'Markdown'], ['text', 'Other text'],
];

const PANEL_BODY = `<form id="search-form" role="search" aria-label="Search the workspace by meaning">
  <input id="q" type="search" placeholder="Describe what you are looking for" aria-label="Search by meaning" autocomplete="off" spellcheck="false">
  <div class="filters">
    <label class="visually-hidden" for="language">Language</label>
    <select id="language" aria-label="Language">
      <option value="">All languages</option>
      ${LANGUAGES.map(([id, name]) => `<option value="${id}">${name}</option>`).join('')}
    </select>
    <label class="visually-hidden" for="kind">Kind</label>
    <select id="kind" aria-label="Code or docs">
      <option value="">Code and docs</option>
      <option value="code">Code</option>
      <option value="doc">Docs</option>
    </select>
    <label class="visually-hidden" for="roles">Show</label>
    <select id="roles" aria-label="Which files to show">
      <option value="">Implementation and docs</option>
      <option value="test,example">With tests and examples</option>
      <option value="test,example,config,generated,vendored">Everything</option>
    </select>
    <label class="visually-hidden" for="glob">Folder or glob</label>
    <input id="glob" type="text" placeholder="Folder or glob, e.g. src/**" aria-label="Folder or glob filter" autocomplete="off" spellcheck="false">
  </div>
</form>
<div id="heading" class="heading" aria-live="polite"></div>
<div id="notice" class="notice" role="note" hidden></div>
<div id="held" class="held" hidden><span id="held-text"></span> <button id="held-show" type="button">Show them</button></div>
<ul id="results" role="listbox" aria-label="Results"></ul>
<div id="empty" class="empty"></div>
<details id="map-section" class="dupes map-section">
  <summary>Map <span id="map-count" class="count"></span></summary>
  <div id="mini-map" class="mini-map"></div>
  <div class="dupes-bar"><span id="map-status" class="map-status" role="status"></span><button id="open-map" type="button">Open larger map</button></div>
</details>
<details id="dupes" class="dupes">
  <summary>Near-duplicates <span id="dupes-count" class="count"></span></summary>
  <div class="dupes-bar"><button id="dupes-refresh" type="button">Refresh</button></div>
  <ul id="dupes-list" aria-label="Near-duplicate groups"></ul>
  <div id="dupes-empty" class="empty"></div>
</details>
<footer id="status" class="status" role="status" aria-live="polite"></footer>`;

function toPanelHit(h: RootHit): PanelHit {
  const folder = vscode.workspace.workspaceFolders?.find((f) => f.uri.fsPath === h.root)?.name ?? path.basename(h.root);
  const hit: PanelHit = { root: h.root, folder, path: h.path, start: h.startLine, end: h.endLine, score: h.score, language: h.language, kind: h.kind, preview: h.preview ?? '' };
  if (h.vectorScore !== undefined) hit.vectorScore = h.vectorScore;
  if (h.shapeScore !== undefined) hit.shapeScore = h.shapeScore;
  if (h.relevance !== undefined && h.band) {
    hit.relevance = h.relevance;
    hit.band = h.band;
  }
  if (h.matched) hit.matched = h.matched;
  if (h.symbol) hit.symbol = h.symbol;
  if (h.likeness) hit.likeness = h.likeness;
  if (h.previewAt) hit.previewAt = h.previewAt;
  if (h.role && h.role !== 'source') hit.role = h.role;
  return hit;
}

function statusMessage(s: IndexState): ToPanel {
  switch (s.kind) {
    case 'off':
      return { type: 'status', state: s.kind, text: 'Not indexing.', busy: false };
    case 'starting':
      return { type: 'status', state: s.kind, text: 'Loading the model…', busy: true };
    case 'indexing':
      return { type: 'status', state: s.kind, text: `Indexing ${s.done}/${s.total} files${s.etaSeconds !== undefined ? `, about ${formatEta(s.etaSeconds)} left` : ''}. Search works meanwhile.`, busy: true };
    case 'paused':
      return { type: 'status', state: s.kind, text: `Paused at ${s.done}/${s.total} files.`, busy: false };
    case 'ready':
      return { type: 'status', state: s.kind, text: `${s.files} files · ${s.chunks} chunks · ${s.model} · updated ${new Date(s.updatedAt).toLocaleTimeString()}`, busy: false };
    case 'error':
      return { type: 'status', state: s.kind, text: `Error: ${s.message}`, busy: false };
  }
}
