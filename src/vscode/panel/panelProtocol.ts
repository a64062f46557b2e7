import type { WorkspaceMap } from '../../core/map/workspaceMap';
import { FILE_ROLES, type FileRole } from '../../core/scan/fileRole';

/**
 * Messages between the sidebar webview (media/panel.js) and the extension. The webview is
 * treated as untrusted: everything it sends is checked by `parsePanelMessage` before use.
 */

export interface PanelFilters {
  language?: string;
  kind?: 'code' | 'doc';
  glob?: string;
  /** Roles shown beside source and docs (the panel's "Show" facet). */
  include?: FileRole[];
}

export type FromPanel =
  | { type: 'ready' }
  | { type: 'search'; seq: number; query: string; filters: PanelFilters }
  | { type: 'open'; root: string; path: string; start: number; end: number }
  | { type: 'command'; command: 'pause' | 'resume' | 'rebuild' | 'cancel' }
  | { type: 'dupes' }
  | { type: 'map' }
  | { type: 'openMap' }
  | { type: 'compare'; a: PanelLocation; b: PanelLocation };

export interface PanelLocation {
  root: string;
  path: string;
  start: number;
  end: number;
}

export interface PanelDupeMember extends PanelLocation {
  folder: string;
  similarity: number;
}

export interface PanelDupeGroup {
  id: string;
  kind: 'textual' | 'semantic';
  /** What the group's files are for, when not source (tests, examples...). */
  role?: string;
  score: number;
  lines: number;
  members: PanelDupeMember[];
}

export interface PanelHit {
  root: string;
  folder: string;
  path: string;
  start: number;
  end: number;
  score: number;
  symbol?: string;
  language: string;
  kind: 'code' | 'doc';
  preview: string;
  /** Line number of each preview line (a jump is a gap), when known. */
  previewAt?: number[];
  /** What the hit's file is for, when not plain source (test, example, config...). */
  role?: string;
  /** Cosine similarity to the query, when known. */
  vectorScore?: number;
  /** Find Similar: how much of the selection's tokens, in their order, the hit shares (0..1). */
  shapeScore?: number;
  /** How likely the hit is to be relevant, and its band, when the model is calibrated. */
  relevance?: number;
  band?: 'strong' | 'possible' | 'weak';
  /** Query terms the chunk contains (stemmed), for highlighting and the tooltip. */
  matched?: string[];
  /** Find Similar: why the near-duplicate detectors would group this hit with the selection. */
  likeness?: { kind: 'textual' | 'semantic'; similarity: number; lines: number };
}

export type ToPanel =
  | { type: 'results'; seq: number; mode: 'search' | 'similar'; title: string; query: string; hits: PanelHit[]; source?: PanelLocation; notice?: string; heldBack?: Partial<Record<FileRole, number>> }
  | { type: 'status'; state: string; text: string; busy: boolean }
  | { type: 'error'; seq?: number; message: string }
  | { type: 'setQuery'; query: string }
  | { type: 'dupes'; groups: PanelDupeGroup[]; total: number; reveal: boolean }
  | { type: 'dupesError'; message: string }
  | { type: 'map'; map: WorkspaceMap }
  | { type: 'mapError'; message: string };

const MAX_QUERY = 2_000;
const MAX_PATH = 4_096;
const COMMANDS = new Set(['pause', 'resume', 'rebuild', 'cancel']);

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isLine = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 1 && (v as number) < 10_000_000;
const isShortString = (v: unknown, max: number): v is string => typeof v === 'string' && v.length <= max;

/** The message, if it is well-formed; undefined otherwise (the caller logs and drops it). */
export function parsePanelMessage(v: unknown): FromPanel | undefined {
  if (!isRecord(v)) return undefined;
  switch (v['type']) {
    case 'ready':
      return { type: 'ready' };
    case 'search': {
      const f = v['filters'];
      if (!Number.isInteger(v['seq']) || !isShortString(v['query'], MAX_QUERY) || !isRecord(f)) return undefined;
      const filters: PanelFilters = {};
      if (f['language'] !== undefined && f['language'] !== '') {
        if (!isShortString(f['language'], 40) || !/^[a-z+#-]+$/.test(f['language'])) return undefined;
        filters.language = f['language'];
      }
      if (f['kind'] !== undefined && f['kind'] !== '') {
        if (f['kind'] !== 'code' && f['kind'] !== 'doc') return undefined;
        filters.kind = f['kind'];
      }
      if (f['glob'] !== undefined && f['glob'] !== '') {
        if (!isShortString(f['glob'], 500)) return undefined;
        filters.glob = f['glob'];
      }
      if (f['include'] !== undefined) {
        const include = f['include'];
        if (!Array.isArray(include) || include.length > FILE_ROLES.length || !include.every((r) => (FILE_ROLES as readonly unknown[]).includes(r))) return undefined;
        if (include.length > 0) filters.include = [...new Set(include as FileRole[])];
      }
      return { type: 'search', seq: v['seq'] as number, query: v['query'], filters };
    }
    case 'open': {
      const loc = parseLocation(v);
      return loc && { type: 'open', ...loc };
    }
    case 'dupes':
    case 'map':
    case 'openMap':
      return { type: v['type'] };
    case 'compare': {
      const a = parseLocation(v['a']);
      const b = parseLocation(v['b']);
      return a && b ? { type: 'compare', a, b } : undefined;
    }
    case 'command':
      return typeof v['command'] === 'string' && COMMANDS.has(v['command']) ? { type: 'command', command: v['command'] as 'pause' } : undefined;
    default:
      return undefined;
  }
}

export function parseLocation(v: unknown): PanelLocation | undefined {
  if (!isRecord(v)) return undefined;
  if (!isShortString(v['root'], MAX_PATH) || !isShortString(v['path'], MAX_PATH) || !isLine(v['start']) || !isLine(v['end']) || (v['end'] as number) < (v['start'] as number)) return undefined;
  return { root: v['root'], path: v['path'], start: v['start'] as number, end: v['end'] as number };
}
