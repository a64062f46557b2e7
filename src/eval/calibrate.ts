import type { Embedder } from '../core/embed/embedder';
import type { Engine } from '../core/engine';
import { bandOf, fitCalibration, relevanceOf, type Calibration, type HitFeatures, type RelevanceBand } from '../core/search/calibration';
import { queryTerms } from '../core/search/codeTokens';
import type { RankedChunk } from '../core/search/hybrid';
import { explainHits, rankChunks } from '../core/search/rank';
import { landsOn, runRealRepo } from './realRepo';
import { buildCorpus } from './retrievalEval';
import { loadSuite, type Split } from './suites';

/** Hits per query the calibration looks at: more than a page, so that weak hits are well represented. */
const CALIBRATION_DEPTH = 20;
/** Band thresholds on the fitted likelihood: strong when more likely relevant than not. */
export const STRONG_AT = 0.5;
export const POSSIBLE_AT = 0.2;

export interface LabelledHit {
  suite: string;
  f: HitFeatures;
  relevant: boolean;
}

export interface CalibrationRun {
  projectDir: string;
  evalDir: string;
  cacheDir: string;
  embedder: Embedder;
  openEngine: (root: string, indexDir: string) => Promise<Engine>;
  log: (line: string) => void;
}

function features(hit: RankedChunk, terms: number, place: number): HitFeatures | undefined {
  if (hit.vectorScore === undefined) return undefined;
  return { cosine: hit.vectorScore, coverage: terms ? (hit.matched?.length ?? 0) / terms : 0, place };
}

/**
 * The top hybrid hits of every query of a split, with what they are known by and whether they are
 * relevant: an answer of the query (public suites and held-out pairs), or a hit landing on one
 * of its graded places (the real-repository questions). Suites that are missing are skipped.
 */
export async function labelledHits(run: CalibrationRun, split: Split): Promise<LabelledHit[]> {
  const rows: LabelledHit[] = [];
  for (const suite of ['heldout', 'cosqa', 'csn_ruby']) {
    let loaded;
    try {
      loaded = loadSuite(suite, split, run.projectDir, run.evalDir);
    } catch (err) {
      run.log(`skipped ${suite}: ${(err as Error).message}`);
      continue;
    }
    const corpus = await buildCorpus(loaded, run.embedder);
    try {
      loaded.queries.forEach((q, i) => {
        const vector = corpus.queryVectors[i]!;
        const hits = explainHits(corpus.store, q.query, vector, rankChunks(corpus.store, q.query, vector, { k: CALIBRATION_DEPTH, mode: 'hybrid' }), undefined);
        const terms = queryTerms(q.query).length;
        hits.forEach((h, place) => {
          const f = features(h, terms, place + 1);
          if (f) rows.push({ suite, f, relevant: h.hash === `entry-${q.answer}` });
        });
      });
    } finally {
      await corpus.dispose();
    }
  }
  await runRealRepo({
    projectDir: run.projectDir,
    split,
    cacheDir: run.cacheDir,
    modes: ['hybrid'],
    openEngine: run.openEngine,
    isTest: () => false,
    log: run.log,
    k: CALIBRATION_DEPTH,
    skipBaseline: true,
    onAnswer: (question, _mode, hits) => {
      const terms = queryTerms(question.question).length;
      hits.forEach((h, place) => {
        const f = features(h, terms, place + 1);
        if (f) rows.push({ suite: 'realrepo', f, relevant: question.gold.some((g) => landsOn(h, g)) });
      });
    },
  });
  return rows;
}

/**
 * Fits on the given hits: the real-repository questions (what users ask, over whole projects)
 * weigh as much as the public suites together, each of which weighs the same.
 */
export function calibrationFrom(rows: readonly LabelledHit[], fittedOn: string): Calibration {
  const perSuite = new Map<string, number>();
  for (const r of rows) perSuite.set(r.suite, (perSuite.get(r.suite) ?? 0) + 1);
  const others = [...perSuite.keys()].filter((s) => s !== 'realrepo').length;
  const suiteWeight = (s: string) => (s === 'realrepo' ? Math.max(1, others) : 1) / perSuite.get(s)!;
  const fit = fitCalibration(rows.map((r) => ({ f: r.f, relevant: r.relevant, weight: suiteWeight(r.suite) })));
  return { ...round(fit), strong: STRONG_AT, possible: POSSIBLE_AT, fittedOn };
}

export interface Reliability {
  suite: string;
  band: RelevanceBand;
  hits: number;
  /** Share of the band's hits that are relevant. */
  relevant: number;
  /** Mean likelihood the calibration gave them. */
  predicted: number;
}

/** Per suite and band: how many hits, and how many of them really are relevant. */
export function reliability(rows: readonly LabelledHit[], c: Calibration): Reliability[] {
  const out: Reliability[] = [];
  for (const suite of [...new Set(rows.map((r) => r.suite))]) {
    for (const band of ['strong', 'possible', 'weak'] as const) {
      const inBand = rows.filter((r) => r.suite === suite && bandOf(relevanceOf(r.f, c), c) === band);
      out.push({
        suite,
        band,
        hits: inBand.length,
        relevant: share(inBand.filter((r) => r.relevant).length, inBand.length),
        predicted: share(inBand.reduce((s, r) => s + relevanceOf(r.f, c), 0), inBand.length),
      });
    }
  }
  return out;
}

function share(a: number, b: number): number {
  return b > 0 ? Math.round((a / b) * 1000) / 1000 : 0;
}

function round<T extends Record<string, number>>(o: T): T {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, Math.round(v * 10_000) / 10_000])) as T;
}
