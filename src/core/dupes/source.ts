import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { decodeSource } from '../scan/readSourceFile';
import type { IndexStore } from '../store/indexStore';
import type { DupeSource } from './types';

/** Near-duplicate detection over an index on disk: chunks and vectors from the index, text from the files. */
export function indexedSource(root: string, contents: Pick<IndexStore, 'paths' | 'fileState' | 'chunksOf' | 'vectorFor'>): DupeSource {
  return {
    paths: () => contents.paths(),
    fileState: (p) => contents.fileState(p),
    chunksOf: (p) => contents.chunksOf(p),
    vectorFor: (h) => contents.vectorFor(h),
    async readText(p) {
      try {
        const decoded = decodeSource(await fs.readFile(path.join(root, p)));
        return decoded.ok ? decoded.text : undefined;
      } catch {
        return undefined;
      }
    },
  };
}
