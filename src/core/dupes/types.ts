import type { FileRole } from '../scan/fileRole';
import type { FileState, StoredChunk } from '../store/records';

export type DupeKind = 'textual' | 'semantic';

export interface DupeMember {
  path: string;
  /** 1-based, inclusive. */
  start: number;
  end: number;
  /** Similarity to the group's centre (the first member, which has 1): exact-token share for a
   * textual group, embedding cosine for a semantic one. */
  similarity: number;
  kind: DupeKind;
}

/** A clone class: fragments that are each close to the same centre fragment. */
export interface DupeGroup {
  /** Stable while the group's members stay the same. */
  id: string;
  kind: DupeKind;
  /** Mean similarity of the members to the centre. */
  score: number;
  /** Mean lines per member. */
  lines: number;
  /** Duplicated lines × members: what ranks the groups (within their role). */
  impact: number;
  /**
   * What the group's files are for: the most telling role among its members (source before docs,
   * examples, tests, settings, generated and vendored code). Source groups are listed first.
   */
  role?: FileRole;
  members: DupeMember[];
}

export interface DupeOptions {
  /** A clone spans at least this many lines (textual) / a chunk has at least this many (semantic). */
  minLines: number;
  /** ... and at least this many tokens, comments excluded. */
  minTokens: number;
  /** Embedding cosine at or above which two chunks are semantic near-duplicates. */
  threshold: number;
  /** Which detectors run. */
  kinds: readonly DupeKind[];
}

/** What near-duplicate detection reads: an index's files, chunks and vectors, and the file texts. */
export interface DupeSource {
  paths(): Iterable<string>;
  fileState(path: string): FileState | undefined;
  chunksOf(path: string): readonly StoredChunk[];
  vectorFor(hash: string): Float32Array | undefined;
  /** The file as it is on disk now, or undefined when unreadable. */
  readText(path: string): Promise<string | undefined>;
}

export interface DupeUpdateReport {
  filesChanged: number;
  filesRemoved: number;
  /** Files whose tokens came from the content-hash cache rather than a fresh tokenization. */
  filesFromCache: number;
  textualPairs: number;
  semanticPairs: number;
  /** Chunks that passed the boilerplate filter and took part in semantic matching. */
  semanticChunks: number;
  groupsKept: number;
  groupsRecomputed: number;
  seconds: number;
}

/** The clone groups of one folder, with what the update that produced them did. */
export interface DupeReport {
  root: string;
  options: DupeOptions;
  groups: DupeGroup[];
  /** Groups before a limit was applied. */
  total: number;
  update: DupeUpdateReport;
}
