import type { EvalReport } from './retrievalEval';

/** A suite × mode table of the headline metrics, then MRR@10 per language. */
export function printEvalTable(reports: readonly EvalReport[], out: NodeJS.WritableStream = process.stdout): void {
  if (reports.length === 0) return;
  const rows = [['suite', 'model', 'mode', 'n', 'MRR@10', 'nDCG@10', 'R@1', 'R@5', 'R@10', 'seconds']];
  for (const r of reports) {
    const m = r.metrics;
    rows.push([r.suite, r.model, r.mode, String(r.n), fmt(m['mrr@10']), fmt(m['ndcg@10']), fmt(m['recall@1']), fmt(m['recall@5']), fmt(m['recall@10']), r.seconds.toFixed(1)]);
  }
  const languages = [...new Set(reports.flatMap((r) => Object.keys(r.by_language)))].sort();
  const byLang = [['suite', 'mode', ...languages.map((l) => `MRR@10 ${l}`)]];
  for (const r of reports) byLang.push([r.suite, r.mode, ...languages.map((l) => (r.by_language[l] ? fmt(r.by_language[l]!['mrr@10']) : '-'))]);
  out.write(`${table(rows)}\n\n${table(byLang)}\n`);
}

function fmt(x: number): string {
  return x.toFixed(3);
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) => r.map((cell, c) => (c < 3 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ')).join('\n');
}
