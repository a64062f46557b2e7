import { existsSync, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { RetrievalPair } from './retrievalEval';

export type Split = 'dev' | 'test';

/** Public benchmarks expected under ../shared/eval, by the folder each lives in. */
export const PUBLIC_SUITES: Record<string, string> = { cosqa: 'cosqa', csn_ruby: 'csn_ruby_codexglue', poj104: 'poj104', bigclonebench: 'bigclonebench' };
// Code-to-code and pair suites need their own scoring, which is written against the data itself.
const RETRIEVAL_SUITES = new Set(['cosqa', 'csn_ruby']);

export const SUITES = ['heldout', ...Object.keys(PUBLIC_SUITES)];

export class SuiteUnavailable extends Error {}

/**
 * The query/answer pairs of a suite. `heldout` ships with Nearby (eval/heldout: docstring → code
 * pairs from packages the model never saw in training); the public suites are read from
 * `evalDir` when that folder exists.
 */
export function loadSuite(name: string, split: Split, projectDir: string, evalDir: string): RetrievalPair[] {
  if (name === 'heldout') return readPairs(path.join(projectDir, 'eval', 'heldout', `${split}.jsonl`), 'lang');
  const folder = PUBLIC_SUITES[name];
  if (!folder) throw new SuiteUnavailable(`unknown suite "${name}"; expected one of: ${SUITES.join(', ')}`);
  const dir = path.join(evalDir, folder);
  if (!existsSync(dir)) throw new SuiteUnavailable(`${name}: ${dir} does not exist on this machine (set NEARBY_EVAL_DIR to the folder holding the public benchmarks)`);
  if (!RETRIEVAL_SUITES.has(name)) throw new SuiteUnavailable(`${name}: code-to-code scoring is not implemented yet`);
  const file = readdirSync(dir).find((f) => f.endsWith('.jsonl') && f.includes(split));
  if (!file) throw new SuiteUnavailable(`${name}: no ${split} split (*${split}*.jsonl) in ${dir}`);
  return readPairs(path.join(dir, file), name === 'csn_ruby' ? 'ruby' : 'python');
}

/** JSONL with a query field (`query`, `doc` or `docstring`) and a code field (`code` or `function`). */
function readPairs(file: string, language: string): RetrievalPair[] {
  const pairs: RetrievalPair[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const row = JSON.parse(line) as Record<string, unknown>;
    const query = row['query'] ?? row['doc'] ?? row['docstring'];
    const code = row['code'] ?? row['function'];
    if (typeof query !== 'string' || typeof code !== 'string') continue;
    const lang = language === 'lang' ? row['lang'] : language;
    pairs.push({ query, code, language: typeof lang === 'string' ? lang : 'unknown' });
  }
  if (pairs.length === 0) throw new SuiteUnavailable(`${file} holds no query/code pairs`);
  return pairs;
}
