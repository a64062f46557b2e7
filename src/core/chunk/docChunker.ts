import type { Piece, PieceSet } from './pieces';

const ATX = /^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$/;
const FENCE = /^ {0,3}(`{3,}|~{3,})/;

/**
 * Markdown: one piece per section (a heading and what follows it, down to the next heading),
 * named by its heading path (`Install > From source`). A section too big for the model is split
 * at blank-line paragraphs, each part keeping the heading as context.
 */
export function chunkMarkdown(set: PieceSet): Piece[] {
  const headings: { row: number; level: number; title: string }[] = [];
  let fence: string | undefined;
  set.lines.forEach((line, row) => {
    const f = FENCE.exec(line);
    if (f) {
      if (!fence) fence = f[1]![0];
      else if (f[1]![0] === fence) fence = undefined;
      return;
    }
    if (fence) return;
    const m = ATX.exec(line);
    if (m) headings.push({ row, level: m[1]!.length, title: m[2]! });
    else if (row > 0 && /^ {0,3}(=+|-+)\s*$/.test(line) && set.lines[row - 1]!.trim() !== '' && !headings.some((h) => h.row === row - 1)) {
      headings.push({ row: row - 1, level: line.trim()[0] === '=' ? 1 : 2, title: set.lines[row - 1]!.trim() });
    }
  });

  const sections: Piece[] = [];
  const path: { level: number; title: string }[] = [];
  const firstRow = headings[0]?.row ?? set.lines.length;
  if (firstRow > 0) sections.push({ start: 0, end: firstRow - 1, header: [] });
  headings.forEach((h, i) => {
    while (path.length && path[path.length - 1]!.level >= h.level) path.pop();
    path.push(h);
    const end = i + 1 < headings.length ? headings[i + 1]!.row - 1 : set.lines.length - 1;
    sections.push({ start: h.row, end, header: [], symbol: path.map((p) => p.title).join(' > ') });
  });

  const out: Piece[] = [];
  for (const s of sections) {
    if (set.fits(s)) out.push(s);
    else out.push(...splitParagraphs(set, s, s.symbol ? [s.start] : []));
  }
  return set.mergeTiny(out);
}

/** Plain prose (`.txt`, `.rst`, `.adoc`): paragraphs packed into as few pieces as fit. */
export function chunkProse(set: PieceSet): Piece[] {
  return splitParagraphs(set, { start: 0, end: set.lines.length - 1, header: [] }, []);
}

function splitParagraphs(set: PieceSet, section: Piece, header: number[]): Piece[] {
  const paragraphs: Piece[] = [];
  let start = section.start;
  for (let row = section.start; row <= section.end + 1; row++) {
    const boundary = row > section.end || (set.lines[row]!.trim() === '' && row > start);
    if (!boundary) continue;
    paragraphs.push(withSymbol({ start, end: Math.min(row, section.end), header }, section.symbol));
    start = row + 1;
  }
  // Pack greedily: paragraphs are small, and fewer, fuller chunks read better in results.
  const out: Piece[] = [];
  for (const p of paragraphs) {
    if (p.start > p.end) continue;
    const prev = out[out.length - 1];
    const merged = prev && withSymbol({ start: prev.start, end: p.end, header: prev.header }, section.symbol);
    if (merged && set.fits(merged)) out[out.length - 1] = merged;
    else if (set.fits(p)) out.push(p);
    else out.push(...set.windows(p, 2));
  }
  return out;
}

function withSymbol(p: Piece, symbol: string | undefined): Piece {
  if (symbol !== undefined) p.symbol = symbol;
  return p;
}
