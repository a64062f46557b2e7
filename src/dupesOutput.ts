import type { DupeReport } from './core/dupes/types';

/** The CLI's JSON: exactly `[{id, kind, role, score, members: [{path, start, end}]}]`, source groups first, then by impact. */
export function dupesJson(reports: readonly DupeReport[]): string {
  const rows = reports.flatMap((r) =>
    r.groups.map((g) => ({ id: g.id, kind: g.kind, role: g.role ?? 'source', score: g.score, members: g.members.map((m) => ({ path: m.path, start: m.start, end: m.end })) })),
  );
  return `${JSON.stringify(rows, null, 2)}\n`;
}

export function dupesText(reports: readonly DupeReport[]): string {
  const out: string[] = [];
  for (const r of reports) {
    const textual = r.groups.filter((g) => g.kind === 'textual').length;
    out.push(
      `${r.root}: ${r.total} groups` +
        (r.total > r.groups.length ? ` (top ${r.groups.length} shown: ${textual} textual, ${r.groups.length - textual} semantic)` : ` (${textual} textual, ${r.total - textual} semantic)`) +
        `; min ${r.options.minLines} lines / ${r.options.minTokens} tokens, semantic threshold ${r.options.threshold}`,
    );
    if (r.total === 0) out.push('  no duplicates found (is the folder indexed? run: nearby index <root>)');
    r.groups.forEach((g, i) => {
      out.push('');
      out.push(`${String(i + 1).padStart(3)}. ${g.kind} × ${g.members.length}${g.role && g.role !== 'source' ? ` (${g.role})` : ''}, ~${g.lines} lines each, impact ${g.impact}, score ${g.score.toFixed(3)}  [${g.id}]`);
      g.members.forEach((m, j) => out.push(`       ${j === 0 ? ' centre' : m.similarity.toFixed(3).padStart(7)}  ${m.path}:${m.start}-${m.end}`));
    });
    out.push('');
    out.push(`  (${r.update.filesChanged} files analysed, ${r.update.filesFromCache} from cache, ${r.update.semanticChunks} chunks compared by meaning, ${r.update.seconds.toFixed(2)} s)`);
  }
  return `${out.join('\n')}\n`;
}
