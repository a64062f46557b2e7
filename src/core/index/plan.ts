import type { ScannedFile } from '../scan/scanner';
import type { FileState } from '../store/records';

/** What an index run has to do, decided from file metadata alone, before reading any file. */
export interface IndexPlan {
  /** New files or files whose size or mtime changed, in the order to read and chunk them. */
  read: ScannedFile[];
  /** Files in the index that no longer exist or are now excluded. */
  remove: string[];
  /** Files whose size and mtime match the index: nothing to do. */
  unchanged: number;
}

export interface IndexedFiles {
  paths(): Iterable<string>;
  fileState(path: string): FileState | undefined;
}

/**
 * Pure: the same scan against the same index always gives the same plan. `priority` paths (open
 * editors) are read first, then the most recently modified files, so that they become searchable early.
 */
export function planIndex(scanned: readonly ScannedFile[], indexed: IndexedFiles, priority: ReadonlySet<string> = new Set()): IndexPlan {
  const present = new Set<string>();
  const read: ScannedFile[] = [];
  let unchanged = 0;
  for (const file of scanned) {
    present.add(file.path);
    const state = indexed.fileState(file.path);
    if (state && state.size === file.size && state.mtimeMs === file.mtimeMs) unchanged++;
    else read.push(file);
  }
  const remove: string[] = [];
  for (const p of indexed.paths()) if (!present.has(p)) remove.push(p);
  // What the user is working on becomes searchable first: open editors, then the files modified
  // most recently (ties keep the scan's order).
  read.sort((a, b) => Number(priority.has(b.path)) - Number(priority.has(a.path)) || b.mtimeMs - a.mtimeMs);
  return { read, remove, unchanged };
}
