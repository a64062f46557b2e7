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

/**
 * The texts of a file's stored chunks, cut from its lines. A chunk knows only its line range, and
 * the slices of an overlong line (a data literal the chunker cut by characters) all share that
 * line: they get consecutive equal parts of it rather than the whole line each, which on a
 * megabyte-long line meant tokenizing it hundreds of times.
 */
export function chunkTexts(lines: readonly string[], chunks: readonly { startLine: number; endLine: number }[]): string[] {
  const texts: string[] = [];
  for (let i = 0; i < chunks.length; ) {
    const { startLine, endLine } = chunks[i]!;
    let j = i + 1;
    if (startLine === endLine) while (j < chunks.length && chunks[j]!.startLine === startLine && chunks[j]!.endLine === endLine) j++;
    if (j - i === 1) texts.push(lines.slice(startLine - 1, endLine).join('\n'));
    else {
      const line = lines[startLine - 1] ?? '';
      const size = Math.ceil(line.length / (j - i));
      for (let k = 0; k < j - i; k++) texts.push(line.slice(k * size, (k + 1) * size));
    }
    i = j;
  }
  return texts;
}
