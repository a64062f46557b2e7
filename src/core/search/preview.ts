import { codeTerms } from './codeTokens';

/**
 * What a hit shows: the line that defines its symbol, then the lines that matched the query,
 * rather than the chunk's first lines (which are often imports, decorators or the end of a doc
 * comment). `at` holds each line's number; a jump between two numbers is a gap in the preview.
 */
export interface Preview {
  text: string;
  at: number[];
}

/** How far above a chunk its definition's line is looked for (a part of a long function). */
export const SIGNATURE_LOOKBACK = 80;

const LINE_CHARS = 400;

/**
 * `lines` are the file's lines `firstLine`.. (1-based), covering the chunk and up to
 * SIGNATURE_LOOKBACK lines above it; `terms` the query's terms that the hit matched (or, for a
 * hit found by meaning alone, all of the query's terms).
 */
export function previewOf(lines: readonly string[], firstLine: number, hit: { startLine: number; endLine: number; symbol?: string }, terms: readonly string[], count: number): Preview {
  const line = (n: number) => lines[n - firstLine] ?? '';
  const start = Math.max(hit.startLine, firstLine);
  const end = Math.min(hit.endLine, firstLine + lines.length - 1);
  const signature = hit.symbol ? signatureLine(line, hit.symbol, start, end, firstLine) : undefined;
  const wanted = new Set(terms);
  const score = (n: number) => (wanted.size === 0 ? 0 : codeTerms(line(n)).filter((t) => wanted.has(t)).length);
  const room = signature !== undefined ? count - 1 : count;
  // The window of `room` lines inside the chunk holding the most matched terms; with none, the
  // first lines with something on them past the signature.
  let bestFrom = signature !== undefined && signature >= start && signature < end ? signature + 1 : start;
  let best = 0;
  if (room > 0 && wanted.size > 0) {
    const scores = Array.from({ length: end - start + 1 }, (_, i) => score(start + i));
    let sum = 0;
    for (let i = 0; i < scores.length; i++) {
      sum += scores[i]!;
      if (i >= room) sum -= scores[i - room]!;
      const from = Math.max(start, start + i - room + 1);
      if (sum > best && (signature === undefined || from > signature || from + room - 1 < signature)) {
        best = sum;
        bestFrom = from;
      }
    }
  }
  if (best === 0) while (bestFrom < end && line(bestFrom).trim() === '') bestFrom++;
  const at: number[] = [];
  if (signature !== undefined) at.push(signature);
  for (let n = bestFrom; n <= end && at.length < count; n++) if (n !== signature) at.push(n);
  at.sort((a, b) => a - b);
  return { text: at.map((n) => clip(line(n))).join('\n'), at };
}

/**
 * The line that introduces `symbol` (its last part: `Client.send` → `send`) inside the chunk,
 * else above it (a later part of a long definition), else just below it (a doc comment above its
 * function); undefined when no line names it.
 */
function signatureLine(line: (n: number) => string, symbol: string, start: number, end: number, firstLine: number): number | undefined {
  const name = symbol.split(/\.| > /).pop()!.trim();
  if (!name) return undefined;
  const defines = new RegExp(`(?:^|[^\\w$])${escape(name)}(?:[^\\w$]|$)`);
  const looksLikeDefinition = /\b(?:def|class|function|func|fn|interface|type|struct|enum|trait|impl|module|sub|proc|fun|record|namespace)\b|=\s*(?:async\s*)?(?:function|\(|[\w$]+\s*=>)|^\s*#{1,6}\s|^\s*(?:public|private|protected|static|export|const|let|var)\b/;
  const candidates: number[] = [];
  for (let n = start; n <= end; n++) candidates.push(n);
  for (let n = start - 1; n >= Math.max(firstLine, start - SIGNATURE_LOOKBACK); n--) candidates.push(n);
  for (let n = end + 1; n <= end + 3; n++) candidates.push(n);
  let named: number | undefined;
  for (const n of candidates) {
    const text = line(n);
    if (!defines.test(text)) continue;
    if (looksLikeDefinition.test(text)) return n;
    named ??= n >= start && n <= end ? n : undefined;
  }
  return named;
}

function clip(text: string): string {
  return text.length > LINE_CHARS ? `${text.slice(0, LINE_CHARS)}…` : text;
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
