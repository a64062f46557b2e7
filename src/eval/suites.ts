import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { RetrievalSuite } from './retrievalEval';

export type Split = 'dev' | 'test';

/** Public benchmarks expected under ../shared/eval, by the folder each lives in. */
export const PUBLIC_SUITES: Record<string, string> = { cosqa: 'cosqa', csn_ruby: 'csn_ruby_codexglue', poj104: 'poj104', bigclonebench: 'bigclonebench' };
/** Text-to-code suites ranked over a pool of functions (the clone suites have their own scoring). */
export const RETRIEVAL_SUITES = ['heldout', 'cosqa', 'csn_ruby'];
/** Clone benchmarks, scored by the near-duplicate detectors' comparison (see cloneEval.ts). */
export const CLONE_SUITES = ['bigclonebench', 'poj104'];

export class SuiteUnavailable extends Error {}

/** The folder holding the public benchmarks: NEARBY_EVAL_DIR, else `../shared/eval` beside the project. */
export function publicEvalDir(projectDir: string, env: NodeJS.ProcessEnv = process.env): string {
  return env['NEARBY_EVAL_DIR'] ?? path.join(projectDir, '..', 'shared', 'eval');
}

/** The JSONL rows of a public suite's file, or a clear reason it cannot be read. */
export function readPublicRows(suite: string, file: string, evalDir: string): Record<string, unknown>[] {
  const folder = PUBLIC_SUITES[suite];
  if (!folder) throw new SuiteUnavailable(`unknown suite "${suite}"`);
  const dir = path.join(evalDir, folder);
  if (!existsSync(dir)) throw new SuiteUnavailable(`${suite}: ${dir} does not exist on this machine (set NEARBY_EVAL_DIR to the folder holding the public benchmarks)`);
  const full = path.join(dir, file);
  if (!existsSync(full)) throw new SuiteUnavailable(`${suite}: ${full} is missing`);
  return readJsonl(full);
}

export function readJsonl(file: string): Record<string, unknown>[] {
  return readFileSync(file, 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as Record<string, unknown>);
}

/**
 * A text-to-code suite with its published protocol:
 * - `heldout` (ships with Nearby, eval/heldout): docstring → code pairs from packages the model
 *   never saw; each query ranks all codes of its split.
 * - `cosqa`: real web queries ranking the 6,267-function `codebase.jsonl`; the answer is the
 *   query's `code_id`.
 * - `csn_ruby`: CodeSearchNet Ruby docstrings ranking all codes of their split (1,261 for test).
 */
export function loadSuite(name: string, split: Split, projectDir: string, evalDir: string): RetrievalSuite {
  if (name === 'heldout') {
    const rows = readJsonl(path.join(projectDir, 'eval', 'heldout', `${split}.jsonl`));
    return ownPairs(rows.map((r) => ({ query: str(r['query']), code: str(r['code']), language: str(r['lang']) })));
  }
  if (name === 'csn_ruby') {
    const rows = readPublicRows(name, `${split}.jsonl`, evalDir);
    return ownPairs(rows.map((r) => ({ query: str(r['query']), code: str(r['code']), language: 'ruby' })));
  }
  if (name === 'cosqa') {
    const pool = readPublicRows(name, 'codebase.jsonl', evalDir);
    const place = new Map<number, number>();
    const corpus = pool.map((r, i) => {
      place.set(Number(r['code_id']), i);
      return { code: str(r['code']), language: 'python' };
    });
    const queries = readPublicRows(name, `${split}.jsonl`, evalDir).map((r) => {
      const answer = place.get(Number(r['code_id']));
      if (answer === undefined) throw new SuiteUnavailable(`cosqa: ${split} query ${String(r['idx'])} names code_id ${String(r['code_id'])}, which codebase.jsonl lacks`);
      return { query: str(r['query']), answer, language: 'python' };
    });
    return { corpus, queries };
  }
  if (name in PUBLIC_SUITES) throw new SuiteUnavailable(`${name} is a clone benchmark: run nearby eval ${name}`);
  throw new SuiteUnavailable(`unknown suite "${name}"`);
}

/** Pairs whose own codes make the pool: query i's answer is code i. */
function ownPairs(pairs: { query: string; code: string; language: string }[]): RetrievalSuite {
  const usable = pairs.filter((p) => p.query && p.code);
  if (usable.length === 0) throw new SuiteUnavailable('the suite holds no query/code pairs');
  return {
    corpus: usable.map((p) => ({ code: p.code, language: p.language || 'unknown' })),
    queries: usable.map((p, i) => ({ query: p.query, answer: i, language: p.language || 'unknown' })),
  };
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}
