import type { WorkspaceMap } from '../../core/map/workspaceMap';
import { parseLocation, type PanelLocation } from '../panel/panelProtocol';

/**
 * Messages between the map tab (media/mapView.js) and the extension. The webview is untrusted:
 * `parseMapMessage` checks everything it sends, and a location it asks to open is resolved
 * inside the workspace (locations.ts) before anything is read.
 */
export type FromMap =
  | { type: 'ready' }
  | { type: 'refresh' }
  | { type: 'dupes' }
  | { type: 'search'; query: string }
  | ({ type: 'open' } & PanelLocation)
  | ({ type: 'preview' } & PanelLocation);

export type ToMap =
  | { type: 'map'; map: WorkspaceMap }
  | { type: 'mapError'; message: string }
  | { type: 'status'; text: string }
  | { type: 'hits'; query: string; hits: PanelLocation[]; notice?: string }
  | { type: 'similar'; source: PanelLocation; hits: PanelLocation[] }
  | { type: 'dupes'; groups: number; members: PanelLocation[] }
  | { type: 'preview'; location: PanelLocation; lines: string[] };

const MAX_QUERY = 2_000;

export function parseMapMessage(v: unknown): FromMap | undefined {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
  const m = v as Record<string, unknown>;
  switch (m['type']) {
    case 'ready':
    case 'refresh':
    case 'dupes':
      return { type: m['type'] };
    case 'search':
      return typeof m['query'] === 'string' && m['query'].length <= MAX_QUERY ? { type: 'search', query: m['query'] } : undefined;
    case 'open':
    case 'preview': {
      const loc = parseLocation(m);
      return loc && { type: m['type'], ...loc };
    }
    default:
      return undefined;
  }
}
