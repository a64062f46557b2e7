/**
 * Messages between a host (the extension or the CLI) and the indexing worker. Both sides import
 * this file; both validate what they receive, because a message crossing a process boundary is
 * untyped data until checked.
 */
import type { IndexProgress, IndexSummary } from '../core/index/progress';
import type { SearchHit, RootStatus } from '../core/rootIndex';
import { SEARCH_MODES, type SearchMode } from '../core/search/hybrid';
import { FILE_ROLES, type FileRole } from '../core/scan/fileRole';
import type { SearchFilter } from '../core/store/records';
import type { DupeKind, DupeReport } from '../core/dupes/types';
import type { WorkspaceMap } from '../core/map/workspaceMap';

export interface RootConfig {
  root: string;
  indexDir: string;
  include?: string[];
  exclude?: string[];
  maxFileBytes?: number;
}

export interface WorkerConfig {
  /** Tier name, hub id or folder (see resolveModel). */
  model?: string;
  bundledModelsDir: string;
  modelCacheDir: string;
  threads: number;
  roots: RootConfig[];
}

export interface ModelSummary {
  id: string;
  dimension: number;
  maxTokens: number;
  source: string;
  dir: string;
}

/** The worker process's memory (process.memoryUsage), in bytes. */
export interface WorkerMemory {
  rss: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
}

export interface RootHit extends SearchHit {
  root: string;
}

/** A search's merged hits and how they were ranked: `degraded` says what the answer lacks, if anything. */
export interface SearchReply {
  hits: RootHit[];
  mode: SearchMode;
  degraded?: string;
  /** Hits of roles the search did not show (tests, examples...) that would have made its top k. */
  heldBack?: Partial<Record<FileRole, number>>;
}

export interface SimilarReply {
  /** What was compared: the selection, or the chunk around the cursor. */
  range: { path: string; startLine: number; endLine: number };
  hits: RootHit[];
  /** Which of the model's candidates were left out because their files could not be read now. */
  degraded?: string;
}

export interface DupesParams {
  /** One indexed folder; all of them when absent. */
  root?: string;
  minLines?: number;
  minTokens?: number;
  /** Embedding cosine for semantic near-duplicates (0 < t <= 1); the model's calibrated default when absent. */
  threshold?: number;
  kinds?: DupeKind[];
  /** At most this many groups per folder, source groups first, then by impact. */
  limit?: number;
  /** Only groups whose files have these roles (source, test, ...). */
  roles?: FileRole[];
}

/** Request types with their parameters and the reply each gets. */
export interface Requests {
  init: { params: { config: WorkerConfig }; result: ModelSummary };
  /** `onlyPaths` and `priority` are by root, then relative to it; `priority` paths are read first (open editors). */
  index: { params: { roots?: string[]; onlyPaths?: Record<string, string[]>; priority?: Record<string, string[]> }; result: Record<string, IndexSummary> };
  search: { params: { query: string; k?: number; filter?: SearchFilter; previewLines?: number; mode?: SearchMode; include?: FileRole[] }; result: SearchReply };
  similar: { params: { root: string; path: string; start: number; end: number; text?: string; k?: number; filter?: SearchFilter; previewLines?: number }; result: SimilarReply };
  status: { params: Record<string, never>; result: { model?: ModelSummary; roots: RootStatus[]; indexing: boolean; paused: boolean; worker: WorkerMemory } };
  dupes: { params: DupesParams; result: DupeReport[] };
  /** `maxPoints`: the most chunks laid out (an even sample of a larger index). */
  map: { params: { maxPoints?: number }; result: WorkspaceMap };
}
export type RequestType = keyof Requests;

export type HostMessage =
  | { [K in RequestType]: { type: K; id: number } & Requests[K]['params'] }[RequestType]
  | { type: 'cancel' }
  | { type: 'pause' }
  | { type: 'resume' }
  | { type: 'shutdown' };

export type WorkerErrorCode = 'model-missing' | 'model-corrupt' | 'model-offline' | 'model-download-failed' | 'bad-request' | 'not-ready' | 'failed';

export type WorkerMessage =
  | { type: 'result'; id: number; result: unknown }
  | { type: 'error'; id: number; code: WorkerErrorCode; message: string }
  | { type: 'progress'; root: string; progress: IndexProgress }
  | { type: 'download'; file: string; loadedBytes: number; totalBytes?: number }
  | { type: 'log'; level: 'info' | 'warn' | 'error'; message: string };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isString = (v: unknown): v is string => typeof v === 'string';
const isInt = (v: unknown): v is number => Number.isInteger(v);
const optional = <T>(v: unknown, guard: (x: unknown) => x is T): boolean => v === undefined || guard(v);
const isPositiveInt = (v: unknown): v is number => Number.isInteger(v) && (v as number) > 0;
const isStringArray = (v: unknown): v is string[] => Array.isArray(v) && v.every(isString);

export function isSearchFilter(v: unknown): v is SearchFilter {
  if (!isObject(v)) return false;
  const r = v['excludeRange'];
  return (
    optional(v['pathGlob'], isString) &&
    optional(v['languages'], isStringArray) &&
    (v['kind'] === undefined || v['kind'] === 'code' || v['kind'] === 'doc') &&
    optional(v['roles'], isRoleArray) &&
    (r === undefined || (isObject(r) && isString(r['path']) && isInt(r['startLine']) && isInt(r['endLine'])))
  );
}

function isRoleArray(v: unknown): v is FileRole[] {
  return Array.isArray(v) && v.every((r) => (FILE_ROLES as readonly unknown[]).includes(r));
}

function isRootConfig(v: unknown): v is RootConfig {
  return (
    isObject(v) && isString(v['root']) && isString(v['indexDir']) &&
    optional(v['include'], isStringArray) && optional(v['exclude'], isStringArray) && optional(v['maxFileBytes'], isInt)
  );
}

function isWorkerConfig(v: unknown): v is WorkerConfig {
  return (
    isObject(v) && optional(v['model'], isString) && isString(v['bundledModelsDir']) && isString(v['modelCacheDir']) &&
    isInt(v['threads']) && Array.isArray(v['roots']) && v['roots'].every(isRootConfig)
  );
}

function isPathsByRoot(v: unknown): v is Record<string, string[]> {
  return isObject(v) && Object.values(v).every(isStringArray);
}

const requestGuards: { [K in RequestType]: (m: Record<string, unknown>) => boolean } = {
  init: (m) => isWorkerConfig(m['config']),
  index: (m) =>
    optional(m['roots'], isStringArray) &&
    optional(m['priority'], isPathsByRoot) &&
    optional(m['onlyPaths'], isPathsByRoot),
  search: (m) =>
    isString(m['query']) && optional(m['k'], isInt) && optional(m['filter'], isSearchFilter) && optional(m['previewLines'], isInt) && optional(m['include'], isRoleArray) &&
    (m['mode'] === undefined || SEARCH_MODES.includes(m['mode'] as SearchMode)),
  similar: (m) =>
    isString(m['root']) && isString(m['path']) && isInt(m['start']) && isInt(m['end']) && optional(m['text'], isString) &&
    optional(m['k'], isInt) && optional(m['filter'], isSearchFilter) && optional(m['previewLines'], isInt),
  status: () => true,
  dupes: (m) =>
    optional(m['root'], isString) && optional(m['minLines'], isPositiveInt) && optional(m['minTokens'], isPositiveInt) &&
    (m['threshold'] === undefined || (typeof m['threshold'] === 'number' && m['threshold'] > 0 && m['threshold'] <= 1)) &&
    (m['kinds'] === undefined || (Array.isArray(m['kinds']) && m['kinds'].every((k) => k === 'textual' || k === 'semantic'))) &&
    optional(m['limit'], isPositiveInt) &&
    optional(m['roles'], isRoleArray),
  map: (m) => m['maxPoints'] === undefined || (isPositiveInt(m['maxPoints']) && m['maxPoints'] <= MAX_MAP_POINTS),
};

/** Beyond this a layout takes minutes and the picture is a blur. */
export const MAX_MAP_POINTS = 200_000;

export function isHostMessage(v: unknown): v is HostMessage {
  if (!isObject(v) || !isString(v['type'])) return false;
  const type = v['type'];
  if (type === 'cancel' || type === 'pause' || type === 'resume' || type === 'shutdown') return true;
  const guard = requestGuards[type as RequestType];
  return guard !== undefined && isInt(v['id']) && guard(v);
}

export function isWorkerMessage(v: unknown): v is WorkerMessage {
  if (!isObject(v)) return false;
  switch (v['type']) {
    case 'result':
      return isInt(v['id']);
    case 'error':
      return isInt(v['id']) && isString(v['code']) && isString(v['message']);
    case 'progress':
      return isString(v['root']) && isObject(v['progress']);
    case 'download':
      return isString(v['file']) && typeof v['loadedBytes'] === 'number';
    case 'log':
      return (v['level'] === 'info' || v['level'] === 'warn' || v['level'] === 'error') && isString(v['message']);
    default:
      return false;
  }
}
