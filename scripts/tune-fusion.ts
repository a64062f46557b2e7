// Grid search of the hybrid weights on the held-out DEV split (never on test).
// Usage: node --import tsx scripts/tune-fusion.ts
import * as path from 'node:path';
import { Engine } from '../src/core/engine';
import { looksLikeIdentifier } from '../src/core/search/codeTokens';
import { buildCorpus, scoreCorpus } from '../src/eval/retrievalEval';
import { loadSuite } from '../src/eval/suites';

async function main(): Promise<void> {
  const project = path.join(__dirname, '..');
  const engine = await Engine.open({ bundledModelsDir: path.join(project, 'models'), modelCacheDir: path.join(project, '.nearby-cache'), threads: 1, roots: [] });
  const suite = loadSuite('heldout', 'dev', project, '');
  const corpus = await buildCorpus({ ...suite, queries: suite.queries.filter((q) => !looksLikeIdentifier(q.query)) }, engine.embedder);
  const rows: [number, number, number][] = [];
  for (const lexical of [0.4, 0.7, 1, 1.5, 2, 3, 4]) {
    const r = scoreCorpus(corpus, 'heldout-dev', engine.embedder.info.id, 'hybrid', { vector: 1, lexical });
    rows.push([1, lexical, r.metrics['mrr@10']]);
  }
  for (const mode of ['vector', 'lexical'] as const) console.log(mode, scoreCorpus(corpus, 'heldout-dev', engine.embedder.info.id, mode).metrics['mrr@10']);
  for (const [v, l, m] of rows.sort((a, b) => b[2] - a[2])) console.log(`vector ${v} lexical ${l}: MRR@10 ${m}`);
  await corpus.dispose();
  await engine.dispose();
}

void main();
