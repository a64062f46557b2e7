import { promises as fs } from 'node:fs';
import { decodeSource } from '../scan/readSourceFile';

/** A file's text, decoded the same way the indexer read it; undefined when unreadable or binary. */
export async function readText(absPath: string): Promise<string | undefined> {
  let bytes: Buffer;
  try {
    bytes = await fs.readFile(absPath);
  } catch {
    return undefined;
  }
  const decoded = decodeSource(bytes);
  return decoded.ok ? decoded.text : undefined;
}

/** Lines `start..end` (1-based, inclusive) of a file, decoded the same way the indexer read it. */
export async function readLines(absPath: string, start: number, end: number): Promise<string[] | undefined> {
  return (await readText(absPath))?.split(/\r?\n/).slice(start - 1, end);
}
