import { promises as fs } from 'node:fs';
import { decodeSource } from '../scan/readSourceFile';

/** Lines `start..end` (1-based, inclusive) of a file, decoded the same way the indexer read it. */
export async function readLines(absPath: string, start: number, end: number): Promise<string[] | undefined> {
  let bytes: Buffer;
  try {
    bytes = await fs.readFile(absPath);
  } catch {
    return undefined;
  }
  const decoded = decodeSource(bytes);
  if (!decoded.ok) return undefined;
  return decoded.text.split(/\r?\n/).slice(start - 1, end);
}
