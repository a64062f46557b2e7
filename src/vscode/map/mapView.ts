import * as vscode from 'vscode';
import { mapPageBody } from '../../core/map/mapPage';
import type { RootHit, SimilarReply } from '../../worker/protocol';
import type { NearbyConfig } from '../config';
import { Disposable } from '../dispose';
import type { IndexService } from '../indexService';
import { readLines } from '../../core/search/readLines';
import { openLocation, resolveInWorkspace } from '../locations';
import type { PanelLocation } from '../panel/panelProtocol';
import { webviewPage } from '../webviewPage';
import { parseMapMessage, type FromMap, type ToMap } from './mapProtocol';

/** Near-duplicate groups marked on the map: the ones with the most duplicated lines. */
const DUPE_GROUPS = 200;
/** Lines of a chunk shown when the pointer rests on it. */
const PREVIEW_LINES = 12;

/** The map of meaning in an editor tab: one per window, revealed again when asked twice. */
export class MapView extends Disposable {
  private panel: vscode.WebviewPanel | undefined;
  /** Posted once the webview says it is ready (a message sent before is lost). */
  private ready = false;
  private queued: ToMap[] = [];
  /** When the shown map was made; an index update after it makes the map stale. */
  private loadedAt = 0;

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly service: IndexService,
    private readonly config: () => NearbyConfig,
    private readonly log: vscode.LogOutputChannel,
  ) {
    super();
    // Laying the map out again on every save would keep the worker busy for a picture nobody
    // asked to change: the map says it is behind, and Refresh places the new chunks.
    this.register(
      service.onDidChangeState((s) => {
        if (s.kind === 'ready' && this.loadedAt > 0 && s.updatedAt > this.loadedAt) this.post({ type: 'status', text: 'The index has changed since this map was made: Refresh places the new and changed chunks.' });
      }),
    );
  }

  show(): void {
    if (this.panel) {
      this.panel.reveal();
      return;
    }
    const media = vscode.Uri.joinPath(this.extensionUri, 'media');
    const panel = vscode.window.createWebviewPanel('nearby.map', 'Nearby Map', vscode.ViewColumn.Active, {
      enableScripts: true,
      localResourceRoots: [media],
      // The layout lives in the page: switching tabs must not throw it away.
      retainContextWhenHidden: true,
    });
    panel.iconPath = vscode.Uri.joinPath(media, 'nearby.svg');
    panel.webview.html = webviewPage(panel.webview, media, { title: 'Nearby Map', styles: ['map.css'], scripts: ['mapRender.js', 'mapView.js'], body: mapPageBody() });
    this.panel = panel;
    this.ready = false;
    const subscriptions = [panel.webview.onDidReceiveMessage((raw: unknown) => this.onMessage(raw))];
    panel.onDidDispose(() => {
      subscriptions.forEach((s) => s.dispose());
      this.panel = undefined;
      this.queued = [];
      this.loadedAt = 0;
    });
  }

  /** Find Similar's answer drawn on the map, when the map is open: the selection and its neighbours. */
  showSimilar(root: string, reply: SimilarReply): void {
    if (!this.panel) return;
    const source = { root, path: reply.range.path, start: reply.range.startLine, end: reply.range.endLine };
    this.post({ type: 'similar', source, hits: reply.hits.map(toLocation) });
  }

  private async onMessage(raw: unknown): Promise<void> {
    const message = parseMapMessage(raw);
    if (!message) {
      this.log.warn(`map: dropped a malformed message ${JSON.stringify(raw)?.slice(0, 200)}`);
      return;
    }
    await this.handle(message);
  }

  private async handle(message: FromMap): Promise<void> {
    switch (message.type) {
      case 'ready': {
        this.ready = true;
        const queued = this.queued;
        this.queued = [];
        await this.load();
        // A Find Similar answer that came while the page loaded is drawn on the map, not before it.
        queued.forEach((m) => this.post(m));
        return;
      }
      case 'refresh':
        await this.load();
        return;
      case 'search':
        try {
          const reply = await this.service.search(message.query, undefined, this.config().resultCount);
          this.post({ type: 'hits', query: message.query, hits: reply.hits.map(toLocation), ...(reply.degraded ? { notice: reply.degraded } : {}) });
        } catch (err) {
          this.post({ type: 'status', text: `Search failed: ${(err as Error).message}` });
        }
        return;
      case 'dupes':
        try {
          const reports = await this.service.dupes(DUPE_GROUPS);
          const members = reports.flatMap((r) => r.groups.flatMap((g) => g.members.map((m) => ({ root: r.root, path: m.path, start: m.start, end: m.end }))));
          this.post({ type: 'dupes', groups: reports.reduce((n, r) => n + r.groups.length, 0), members });
        } catch (err) {
          this.post({ type: 'status', text: `Near-duplicates failed: ${(err as Error).message}` });
        }
        return;
      case 'open':
        if (!(await openLocation(message, { preview: true }))) this.log.warn(`map: refused to open ${message.path}: not inside a workspace folder`);
        return;
      case 'preview': {
        const { type: _, ...location } = message;
        const file = resolveInWorkspace(location);
        const lines = file && (await readLines(file.fsPath, location.start, Math.min(location.end, location.start + PREVIEW_LINES - 1)));
        if (lines) this.post({ type: 'preview', location, lines: lines.map((l) => (l.length > 160 ? `${l.slice(0, 160)}…` : l)) });
        return;
      }
    }
  }

  private async load(): Promise<void> {
    this.post({ type: 'status', text: 'Laying out the map…' });
    try {
      const map = await this.service.map(this.config().mapMaxPoints);
      this.loadedAt = Date.now();
      this.log.info(`map: ${map.shown} points, ${map.regions.length} regions, ${Math.round(map.quality.preservation * 100)}% of neighbours kept, ${map.build.ms['total']} ms${map.build.cached ? ' (cached)' : ''}`);
      this.post({ type: 'map', map });
    } catch (err) {
      this.post({ type: 'mapError', message: (err as Error).message });
    }
  }

  private post(message: ToMap): void {
    if (!this.panel) return;
    if (!this.ready) this.queued.push(message);
    else void this.panel.webview.postMessage(message);
  }
}

function toLocation(h: RootHit): PanelLocation {
  return { root: h.root, path: h.path, start: h.startLine, end: h.endLine };
}
