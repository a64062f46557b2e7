import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import type { Engine } from '../core/engine';
import type { SearchHit } from '../core/rootIndex';
import { readSourceFile } from '../core/scan/readSourceFile';
import { scanFiles } from '../core/scan/scanner';
import type { FusionWeights, SearchMode } from '../core/search/hybrid';
import { readJsonl } from './suites';

/**
 * Nearby's own question set (eval/realrepo): plain-English questions a newcomer asks about six
 * real projects, each answered by graded places in the code or docs. Scored by graded nDCG@10
 * over line ranges: a hit earns the best grade of the answers it overlaps and has not been
 * credited for yet.
 */

export interface RealRepoProject {
  name: string;
  /** `test` projects are only reported; `dev` ones are for tuning. */
  split: 'dev' | 'test';
  language: string;
  version: string;
  url: string;
  sha256: string;
}

export interface GoldSpan {
  path: string;
  start: number;
  end: number;
  grade: number;
}

export type QuestionKind = 'behaviour' | 'docs' | 'pattern';

export interface RealRepoQuestion {
  id: string;
  project: string;
  kind: QuestionKind;
  no_identifiers: boolean;
  question: string;
  gold: GoldSpan[];
}

export interface RangeHit {
  path: string;
  startLine: number;
  endLine: number;
}

/** The projects of one split and their questions (test: eval/realrepo/questions, dev: eval/realrepo/dev). */
export function loadRealRepo(projectDir: string, split: 'dev' | 'test'): { projects: RealRepoProject[]; questions: RealRepoQuestion[] } {
  const dir = path.join(projectDir, 'eval', 'realrepo');
  const projects = (JSON.parse(readFileSync(path.join(dir, 'projects.json'), 'utf8')) as { projects: RealRepoProject[] }).projects.filter((p) => p.split === split);
  const questionDir = path.join(dir, split === 'test' ? 'questions' : 'dev');
  const questions = readdirSync(questionDir)
    .filter((f) => f.endsWith('.jsonl'))
    .sort()
    .flatMap((f) => readJsonl(path.join(questionDir, f)) as unknown as RealRepoQuestion[]);
  const names = new Set(projects.map((p) => p.name));
  for (const q of questions) if (!names.has(q.project)) throw new Error(`eval/realrepo: question ${q.id} is about unknown project ${q.project}`);
  return { projects, questions };
}

/**
 * The project's source tree under `cacheDir`, downloaded and unpacked on first use (Debian's
 * archive, checked against its sha256). Throws with the reason when it cannot be had.
 */
export async function fetchProject(project: RealRepoProject, cacheDir: string): Promise<string> {
  const root = path.join(cacheDir, `${project.name}-${project.version}`);
  if (existsSync(path.join(root, '.nearby-complete'))) return root;
  mkdirSync(cacheDir, { recursive: true });
  const response = await fetch(project.url).catch((err: Error) => {
    throw new Error(`${project.name}: cannot download ${project.url}: ${err.message}`);
  });
  if (!response.ok) throw new Error(`${project.name}: ${project.url} answered ${response.status}`);
  const bytes = Buffer.from(await response.arrayBuffer());
  const digest = createHash('sha256').update(bytes).digest('hex');
  if (digest !== project.sha256) throw new Error(`${project.name}: ${project.url} has sha256 ${digest}, expected ${project.sha256}`);
  const partial = `${root}.partial`;
  rmSync(partial, { recursive: true, force: true });
  mkdirSync(partial, { recursive: true });
  const archive = path.join(partial, '..', `${project.name}-${project.version}.tar`);
  writeFileSync(archive, bytes);
  try {
    execFileSync('tar', ['-xf', archive, '-C', partial, '--strip-components=1'], { stdio: 'pipe' });
  } finally {
    rmSync(archive, { force: true });
  }
  writeFileSync(path.join(partial, '.nearby-complete'), `${project.url}\n`);
  rmSync(root, { recursive: true, force: true });
  renameSync(partial, root);
  return root;
}

/** Lines of `a` and `b` in common. */
function overlap(a: { start: number; end: number }, b: { start: number; end: number }): number {
  return Math.max(0, Math.min(a.end, b.end) - Math.max(a.start, b.start) + 1);
}

/**
 * A hit lands on an answer when at least half of the shorter of the two is shared: a chunk inside
 * a long function, or a chunk holding a short one.
 */
export function landsOn(hit: RangeHit, gold: GoldSpan): boolean {
  if (hit.path !== gold.path) return false;
  const h = { start: hit.startLine, end: hit.endLine };
  return 2 * overlap(h, gold) >= Math.min(hit.endLine - hit.startLine + 1, gold.end - gold.start + 1);
}

/** Graded nDCG@k with gain 2^grade - 1; each answer is credited to the first hit that lands on it. */
export function gradedNdcg(hits: readonly RangeHit[], gold: readonly GoldSpan[], k = 10): number {
  const credited = new Set<GoldSpan>();
  let dcg = 0;
  hits.slice(0, k).forEach((hit, i) => {
    let best = 0;
    let bestSpan: GoldSpan | undefined;
    for (const g of gold) {
      if (credited.has(g) || !landsOn(hit, g)) continue;
      if (g.grade > best) {
        best = g.grade;
        bestSpan = g;
      }
    }
    // One hit earns one answer; a hit over two answers leaves the other for a later hit.
    if (bestSpan) credited.add(bestSpan);
    dcg += (2 ** best - 1) / Math.log2(i + 2);
  });
  const ideal = gold.map((g) => g.grade).sort((a, b) => b - a).slice(0, k).reduce((s, g, i) => s + (2 ** g - 1) / Math.log2(i + 2), 0);
  return ideal > 0 ? dcg / ideal : 0;
}

/** Rank of the first hit that lands on a grade-3 answer (1-based), or undefined. */
export function firstAnswerRank(hits: readonly RangeHit[], gold: readonly GoldSpan[], k = 10): number | undefined {
  const at = hits.slice(0, k).findIndex((h) => gold.some((g) => g.grade === 3 && landsOn(h, g)));
  return at < 0 ? undefined : at + 1;
}

/**
 * The baseline anyone can write: BM25 over fixed 40-line windows of every file Nearby would index,
 * words split on anything not a letter or digit, lower-cased, nothing else.
 */
export class WindowBm25 {
  private readonly windows: RangeHit[] = [];
  private readonly lengths: number[] = [];
  private readonly postings = new Map<string, Map<number, number>>();
  private totalLength = 0;

  static async build(root: string): Promise<WindowBm25> {
    const index = new WindowBm25();
    const { files } = await scanFiles(root);
    for (const f of files) {
      const read = readSourceFile(f.absPath, 1_000_000);
      if (!read.ok) continue;
      const lines = read.text.split('\n');
      for (let start = 0; start < lines.length; start += WINDOW_LINES) {
        const end = Math.min(lines.length, start + WINDOW_LINES);
        index.add({ path: f.path, startLine: start + 1, endLine: end }, lines.slice(start, end).join('\n'));
      }
    }
    return index;
  }

  search(query: string, k: number): RangeHit[] {
    const n = this.windows.length;
    const average = this.totalLength / Math.max(1, n);
    const scores = new Map<number, number>();
    for (const term of new Set(plainWords(query))) {
      const posting = this.postings.get(term);
      if (!posting) continue;
      const idf = Math.log(1 + (n - posting.size + 0.5) / (posting.size + 0.5));
      for (const [doc, tf] of posting) {
        const norm = 1.2 * (1 - 0.75 + (0.75 * this.lengths[doc]!) / average);
        scores.set(doc, (scores.get(doc) ?? 0) + (idf * tf * 2.2) / (tf + norm));
      }
    }
    return [...scores].sort((a, b) => b[1] - a[1] || a[0] - b[0]).slice(0, k).map(([doc]) => this.windows[doc]!);
  }

  private add(window: RangeHit, text: string): void {
    const doc = this.windows.push(window) - 1;
    const words = plainWords(text);
    this.lengths.push(words.length);
    this.totalLength += words.length;
    for (const w of words) {
      let posting = this.postings.get(w);
      if (!posting) this.postings.set(w, (posting = new Map()));
      posting.set(doc, (posting.get(doc) ?? 0) + 1);
    }
  }
}

const WINDOW_LINES = 40;

function plainWords(text: string): string[] {
  return text.toLowerCase().split(/[^a-z0-9]+/).filter(Boolean);
}

export type RealRepoSystem = SearchMode | 'bm25-windows';

export interface RealRepoScore {
  ndcg: number;
  /** Mean reciprocal rank of the first grade-3 answer within the top 10. */
  mrr: number;
  n: number;
}

export interface RealRepoReport {
  suite: 'realrepo' | 'realrepo-dev';
  model: string;
  system: RealRepoSystem;
  seconds: number;
  all: RealRepoScore;
  by_kind: Record<string, RealRepoScore>;
  by_project: Record<string, RealRepoScore>;
  /** Behaviour questions worded without the code's identifiers. */
  behaviour_no_identifiers: RealRepoScore;
  /** Share of top-10 hits in test files (a newcomer wants the implementation first). */
  test_hit_share: number;
  per_question: { id: string; ndcg: number; first_answer?: number; top: string[] }[];
}

/** Scores one system's top-10 answers to every question. */
export function scoreRealRepo(suite: RealRepoReport['suite'], model: string, system: RealRepoSystem, seconds: number, answered: { question: RealRepoQuestion; hits: RangeHit[] }[], isTest: (p: string) => boolean): RealRepoReport {
  const rows = answered.map(({ question, hits }) => {
    const first = firstAnswerRank(hits, question.gold);
    return { question, ndcg: gradedNdcg(hits, question.gold), rr: first ? 1 / first : 0, first, hits };
  });
  const score = (subset: typeof rows): RealRepoScore => ({
    ndcg: round(subset.reduce((s, r) => s + r.ndcg, 0) / Math.max(1, subset.length)),
    mrr: round(subset.reduce((s, r) => s + r.rr, 0) / Math.max(1, subset.length)),
    n: subset.length,
  });
  const group = (key: (q: RealRepoQuestion) => string) => {
    const out: Record<string, RealRepoScore> = {};
    for (const k of [...new Set(rows.map((r) => key(r.question)))].sort()) out[k] = score(rows.filter((r) => key(r.question) === k));
    return out;
  };
  const top = rows.flatMap((r) => r.hits.slice(0, 10));
  return {
    suite,
    model,
    system,
    seconds: round(seconds),
    all: score(rows),
    by_kind: group((q) => q.kind),
    by_project: group((q) => q.project),
    behaviour_no_identifiers: score(rows.filter((r) => r.question.kind === 'behaviour' && r.question.no_identifiers)),
    test_hit_share: round(top.filter((h) => isTest(h.path)).length / Math.max(1, top.length)),
    per_question: rows.map((r) => ({ id: r.question.id, ndcg: round(r.ndcg), ...(r.first ? { first_answer: r.first } : {}), top: r.hits.slice(0, 10).map((h) => `${h.path}:${h.startLine}-${h.endLine}`) })),
  };
}

function round(x: number): number {
  return Math.round(x * 10_000) / 10_000;
}

export interface RealRepoRun {
  projectDir: string;
  split: 'dev' | 'test';
  cacheDir: string;
  modes: readonly SearchMode[];
  /** Opens the product's engine on one folder, its index in `indexDir`. */
  openEngine: (root: string, indexDir: string) => Promise<Engine>;
  isTest: (p: string) => boolean;
  log: (line: string) => void;
  /** Hits asked for per question (default 10, what is scored). */
  k?: number;
  /** Told every answer, with the engine's hits as they are (calibration reads their features). */
  onAnswer?: (question: RealRepoQuestion, mode: SearchMode, hits: readonly SearchHit[]) => void;
  /** Leave out the keyword baseline. */
  skipBaseline?: boolean;
  /** Fusion weights to try instead of the product's (tuning). */
  weights?: FusionWeights;
}

/**
 * Indexes every project with the product's engine (incrementally: a second run re-reads nothing),
 * asks each question as the CLI and the panel do, and scores each mode and the baseline.
 */
export async function runRealRepo(run: RealRepoRun): Promise<RealRepoReport[]> {
  const { projects, questions } = loadRealRepo(run.projectDir, run.split);
  const answers = new Map<RealRepoSystem, { question: RealRepoQuestion; hits: RangeHit[] }[]>();
  const seconds = new Map<RealRepoSystem, number>();
  const add = (system: RealRepoSystem, question: RealRepoQuestion, hits: RangeHit[], s: number) => {
    (answers.get(system) ?? answers.set(system, []).get(system)!).push({ question, hits });
    seconds.set(system, (seconds.get(system) ?? 0) + s);
  };
  let model = '';
  for (const project of projects) {
    const root = await fetchProject(project, path.join(run.cacheDir, 'eval', 'realrepo'));
    const asked = questions.filter((q) => q.project === project.name);
    const engine = await run.openEngine(root, path.join(run.cacheDir, 'eval', 'realrepo-index', project.name));
    try {
      model = engine.embedder.info.id;
      const summary = await engine.roots.get(root)!.index();
      run.log(`${project.name}: ${summary.chunksTotal} chunks (${summary.filesIndexed} files indexed, ${summary.filesUnchanged} unchanged), ${asked.length} questions`);
      for (const mode of run.modes) {
        for (const q of asked) {
          const t = performance.now();
          const answer = await engine.search(q.question, { k: run.k ?? 10, mode, ...(run.weights ? { weights: run.weights } : {}) });
          if (answer.degraded) throw new Error(`${project.name}: ${mode} search degraded: ${answer.degraded}`);
          add(mode, q, answer.hits, (performance.now() - t) / 1000);
          run.onAnswer?.(q, mode, answer.hits);
        }
      }
    } finally {
      await engine.dispose();
    }
    if (run.skipBaseline) continue;
    const t = performance.now();
    const bm25 = await WindowBm25.build(root);
    const built = (performance.now() - t) / 1000;
    asked.forEach((q, i) => {
      const s = performance.now();
      add('bm25-windows', q, bm25.search(q.question, 10), (performance.now() - s) / 1000 + (i === 0 ? built : 0));
    });
  }
  return [...answers].map(([system, rows]) => scoreRealRepo(run.split === 'test' ? 'realrepo' : 'realrepo-dev', model, system, seconds.get(system) ?? 0, rows, run.isTest));
}
