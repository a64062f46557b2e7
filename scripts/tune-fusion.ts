// Grid search of the hybrid fusion weights on the DEV splits (never on test): the held-out pairs,
// CoSQA, CodeSearchNet Ruby (MRR@10) and the real-repository dev questions (graded nDCG@10).
// Sentences only: names of code keep their own weights (see hybrid.ts).
// Usage: node --import tsx scripts/tune-fusion.ts [model folder or tier]
import * as path from 'node:path';
import { Engine } from '../src/core/engine';
import { looksLikeIdentifier } from '../src/core/search/codeTokens';
import type { FusionWeights, SearchMode } from '../src/core/search/hybrid';
import { runRealRepo } from '../src/eval/realRepo';
import { buildCorpus, scoreCorpus } from '../src/eval/retrievalEval';
import { loadSuite, publicEvalDir } from '../src/eval/suites';
import { userCacheDir } from '../src/paths';

const LEXICAL_WEIGHTS = [0.5, 0.75, 1, 1.25, 1.5, 2, 3];

async function main(): Promise<void> {
  const project = path.join(__dirname, '..');
  const model = process.argv[2];
  const open = (roots: { root: string; indexDir: string }[]) =>
    Engine.open({ ...(model ? { model } : {}), bundledModelsDir: path.join(project, 'models'), modelCacheDir: path.join(userCacheDir(), 'models'), threads: 1, roots });
  const engine = await open([]);
  const table = new Map<string, Record<string, number>>();
  const put = (row: string, suite: string, value: number) => table.set(row, { ...table.get(row), [suite]: value });
  for (const name of ['heldout', 'cosqa', 'csn_ruby']) {
    const suite = loadSuite(name, 'dev', project, publicEvalDir(project));
    const corpus = await buildCorpus({ ...suite, queries: suite.queries.filter((q) => !looksLikeIdentifier(q.query)) }, engine.embedder);
    for (const mode of ['vector', 'lexical'] as SearchMode[]) put(mode, name, scoreCorpus(corpus, name, engine.embedder.info.id, mode).metrics['mrr@10']);
    for (const lexical of LEXICAL_WEIGHTS) put(`hybrid 1:${lexical}`, name, scoreCorpus(corpus, name, engine.embedder.info.id, 'hybrid', { vector: 1, lexical }).metrics['mrr@10']);
    await corpus.dispose();
  }
  await engine.dispose();
  const realRepo = (modes: SearchMode[], weights?: FusionWeights) =>
    runRealRepo({ projectDir: project, split: 'dev', cacheDir: userCacheDir(), modes, openEngine: (root, indexDir) => open([{ root, indexDir }]), isTest: () => false, log: () => {}, skipBaseline: true, ...(weights ? { weights } : {}) });
  for (const r of await realRepo(['vector', 'lexical'])) put(r.system, 'realrepo', r.all.ndcg);
  for (const lexical of LEXICAL_WEIGHTS) put(`hybrid 1:${lexical}`, 'realrepo', (await realRepo(['hybrid'], { vector: 1, lexical }))[0]!.all.ndcg);
  const suites = ['heldout', 'cosqa', 'csn_ruby', 'realrepo'];
  console.log(['ranking', ...suites, 'mean'].join('\t'));
  for (const [row, values] of table) {
    const mean = suites.reduce((s, k) => s + (values[k] ?? 0), 0) / suites.length;
    console.log([row, ...suites.map((k) => (values[k] ?? 0).toFixed(3)), mean.toFixed(3)].join('\t'));
  }
}

void main();
