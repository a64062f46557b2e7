import type { Reliability } from './calibrate';
import type { BigCloneReport, PojReport } from './cloneEval';
import type { RealRepoReport } from './realRepo';
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

/** Nearby's own question set: graded nDCG@10 per system, overall and by kind of question. */
export function printRealRepoTable(reports: readonly RealRepoReport[], out: NodeJS.WritableStream = process.stdout): void {
  if (reports.length === 0) return;
  const rows = [[reports[0]!.suite, 'model', 'n', 'nDCG@10', 'behaviour', 'no-identifier', 'docs', 'pattern', 'MRR@10', 'test hits', 'seconds']];
  for (const r of reports) {
    const k = r.by_kind;
    rows.push([r.system, r.model, String(r.all.n), fmt(r.all.ndcg), fmt(k['behaviour']?.ndcg ?? 0), fmt(r.behaviour_no_identifiers.ndcg), fmt(k['docs']?.ndcg ?? 0), fmt(k['pattern']?.ndcg ?? 0), fmt(r.all.mrr), fmt(r.test_hit_share), r.seconds.toFixed(1)]);
  }
  const projects = [...new Set(reports.flatMap((r) => Object.keys(r.by_project)))].sort();
  const byProject = [[reports[0]!.suite, ...projects.map((p) => `nDCG@10 ${p}`)]];
  for (const r of reports) byProject.push([r.system, ...projects.map((p) => fmt(r.by_project[p]?.ndcg ?? 0))]);
  out.write(`\n${table(rows, 2)}\n\n${table(byProject, 1)}\n`);
}

/** Per suite and band, on the dev splits (fitted there) and the test splits: hits and the share relevant. */
export function printReliabilityTable(dev: readonly Reliability[], test: readonly Reliability[], out: NodeJS.WritableStream = process.stdout): void {
  const rows = [['split', 'suite', 'band', 'hits', 'relevant', 'predicted']];
  for (const [split, list] of [['dev', dev], ['test', test]] as const) {
    for (const r of list) rows.push([split, r.suite, r.band, String(r.hits), fmt(r.relevant), fmt(r.predicted)]);
  }
  out.write(`${table(rows)}\n`);
}

/** The clone benchmarks' figures. */
export function printCloneTable(reports: readonly (BigCloneReport | PojReport)[], out: NodeJS.WritableStream = process.stdout): void {
  for (const r of reports) {
    if (r.suite === 'bigclonebench') {
      const types = Object.entries(r.by_type).map(([t, v]) => `${t}: ${v.clones} clones, AUC ${fmt(v.roc_auc)}, found ${fmt(v.recall_at_dev_threshold)}`).join('; ');
      out.write(`\nbigclonebench  ${r.model}  ${r.pairs} pairs (${r.positives} clones): ROC-AUC ${fmt(r.roc_auc)}, best F1 ${fmt(r.best_f1)} (at ${fmt(r.best_f1_threshold)}), F1 at the dev threshold ${fmt(r.f1_at_dev_threshold)} (${fmt(r.dev_threshold)})\n  by type: ${types}\n`);
    } else out.write(`\npoj104 (${r.split})  ${r.model}  ${r.programs} programs: MAP@R ${fmt(r.map_at_r)}; embedding ${r.embed_seconds.toFixed(0)} s, ranking ${r.rank_seconds.toFixed(0)} s, peak RSS ${r.peak_rss_mb} MB\n`);
  }
}

function fmt(x: number): string {
  return x.toFixed(3);
}

/** Columns before `leftColumns` are left-aligned text, the rest right-aligned figures. */
function table(rows: string[][], leftColumns = 3): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) => r.map((cell, c) => (c < leftColumns ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ')).join('\n');
}
