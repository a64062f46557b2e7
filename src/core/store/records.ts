import type { FileRole } from '../scan/fileRole';
import type { ChunkKind } from '../types';

/** A chunk as the index keeps it: everything but the text, which stays in the file. */
export interface StoredChunk {
  path: string;
  startLine: number;
  endLine: number;
  language: string;
  kind: ChunkKind;
  symbol?: string;
  /** What the file is for, when not plain source: tests, examples and the like are held back by default. */
  role?: FileRole;
  /** Nothing of substance (imports, a licence header, a line or two): ranked down by meaning. */
  minor?: boolean;
  hash: string;
}

/** What the index remembers about a file to tell, without reading it, that it did not change. */
export interface FileState {
  mtimeMs: number;
  size: number;
}

export interface IndexManifest {
  formatVersion: number;
  modelId: string;
  dimension: number;
  chunkerVersion: number;
  shardCount: number;
  createdAt: string;
}

/** Identity of an index: if any of these differ, old vectors are meaningless and the index is rebuilt. */
export interface IndexIdentity {
  modelId: string;
  dimension: number;
  chunkerVersion: number;
}

export interface SearchFilter {
  /** Glob on the relative path (`src/**`, `**\/*.py`). */
  pathGlob?: string;
  languages?: readonly string[];
  kind?: ChunkKind;
  /** Only chunks of files with these roles (absent: every role). */
  roles?: readonly FileRole[];
  /** Leave out chunks overlapping this range (the selection that Find Similar starts from). */
  excludeRange?: { path: string; startLine: number; endLine: number };
}

export interface ScoredChunk extends StoredChunk {
  score: number;
}
