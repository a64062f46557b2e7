/**
 * What the reliability suite's rows share: a real corpus, workers started as the extension starts
 * them (the bundled dist/worker.js with the shipped model), and an index read back from disk to
 * compare with a clean build of the same tree.
 */
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
export { median } from '../../src/bench/report';
import { IndexStore } from '../../src/core/store/indexStore';
import type { IndexManifest } from '../../src/core/store/records';
import { WorkerClient, type WorkerEvent } from '../../src/worker/client';
import type { SearchReply } from '../../src/worker/protocol';
import { BUNDLED_MODELS, CLI_BUNDLE, FIXTURE_REPO, PROJECT_ROOT } from '../helpers/paths';

export const WORKER_BUNDLE = path.join(PROJECT_ROOT, 'dist', 'worker.js');

/** One row of the report: what was tried, how often, and whether everything held. */
export interface Row {
  area: string;
  check: string;
  tried: number;
  failures: string[];
  figures?: Record<string, number | string>;
}

export function row(area: string, check: string): Row {
  return { area, check, tried: 0, failures: [] };
}

/** Records a failed expectation instead of stopping the row: the report lists them all. */
export function expect(r: Row, ok: boolean, what: string): boolean {
  if (!ok && r.failures.length < 50) r.failures.push(what);
  return ok;
}

export function scratch(prefix: string): { dir: string; dispose(): void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), `nearby-rel-${prefix}-`));
  return { dir, dispose: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Real code and docs that every clean checkout has: Nearby's own sources, its fixture repository
 * and READMEs, and two installed npm packages (CommonJS JavaScript with Markdown docs).
 */
export function copyCorpus(to: string): void {
  cpSync(path.join(PROJECT_ROOT, 'src'), path.join(to, 'src'), { recursive: true });
  cpSync(FIXTURE_REPO, path.join(to, 'app'), { recursive: true });
  cpSync(path.join(PROJECT_ROOT, 'README.md'), path.join(to, 'README.md'));
  cpSync(path.join(PROJECT_ROOT, 'model', 'README.md'), path.join(to, 'docs', 'model.md'));
  for (const pkg of ['semver', 'commander']) {
    const from = path.join(PROJECT_ROOT, 'node_modules', pkg);
    if (existsSync(from)) cpSync(from, path.join(to, 'lib', pkg), { recursive: true, filter: (src) => !src.includes(`${path.sep}node_modules${path.sep}${pkg}${path.sep}node_modules`) });
  }
}

/** Queries of every kind the product answers: behaviour, docs, identifiers. */
export const QUERIES = [
  'retry a failed upload with exponential backoff',
  'parse a semantic version string',
  'compare two versions',
  'define a command line option with a default value',
  'write a file atomically so readers never see half of it',
  'take a lock so that only one process writes',
  'split text into chunks for embedding',
  'how is the model downloaded',
  'cosine similarity of two vectors',
  'which files are ignored',
  'find near-duplicate code',
  'tokenize code identifiers camelCase',
  'show progress in the status bar',
  'validate messages from the webview',
  'training data decontamination',
  'satisfies range',
  'IndexStore flush',
  'help text for subcommands',
  'how do I install it',
  'kill the worker and restart it',
];

export interface ClientOptions {
  events?: WorkerEvent[];
  model?: string;
  env?: NodeJS.ProcessEnv;
  maxRestarts?: number;
}

/** A worker on one folder, started as the extension starts it. */
export function workerOn(root: string, indexDir: string, options: ClientOptions = {}): WorkerClient {
  return new WorkerClient({
    workerPath: WORKER_BUNDLE,
    restartDelayMs: 100,
    maxRestarts: options.maxRestarts ?? 0,
    ...(options.env ? { env: options.env } : {}),
    config: { ...(options.model ? { model: options.model } : {}), bundledModelsDir: BUNDLED_MODELS, modelCacheDir: path.join(indexDir, '..', 'model-cache'), threads: 1, roots: [{ root, indexDir }] },
    onEvent: (e) => options.events?.push(e),
  });
}

/** A search's ranking, comparable across indexes (ties in score may come in any order), and what it says it lacks. */
export function rankingKey(reply: SearchReply): string[] {
  const hits = reply.hits.map((h) => `${h.score.toFixed(5)} ${h.path}:${h.startLine}-${h.endLine}`).sort();
  return reply.degraded ? [...hits, `degraded: ${reply.degraded}`] : hits;
}

export async function searchAll(client: WorkerClient): Promise<string[][]> {
  const out: string[][] = [];
  for (const query of QUERIES) out.push(rankingKey(await client.request('search', { query, k: 10 })));
  return out;
}

/** Everything an index holds for one file, in a form two indexes can be compared by. */
interface FileImage {
  chunks: string;
  vectors: Float32Array[];
  keywords: string;
}

export interface IndexImage {
  files: Map<string, FileImage>;
  droppedShards: string[];
  keywordGaps: number;
}

/** Reads an index from disk the way a new process would. */
export async function readIndex(indexDir: string): Promise<IndexImage> {
  // Killed before its first commit: no index yet, which is a consistent (empty) one.
  if (!existsSync(path.join(indexDir, 'manifest.json'))) return { files: new Map(), droppedShards: [], keywordGaps: 0 };
  const manifest = JSON.parse(readFileSync(path.join(indexDir, 'manifest.json'), 'utf8')) as IndexManifest;
  const { store, droppedShards } = await IndexStore.open(indexDir, { modelId: manifest.modelId, dimension: manifest.dimension, chunkerVersion: manifest.chunkerVersion }, { shardCount: manifest.shardCount });
  const files = new Map<string, FileImage>();
  for (const p of store.paths()) {
    const chunks = store.chunksOf(p);
    const keywords: string[] = [];
    store.lexical.entriesOf(p, (ids, counts) => keywords.push([...ids].map((id, i) => `${store.lexical.term(id)}×${counts[i]}`).sort().join(' ')));
    files.set(p, { chunks: JSON.stringify(chunks), vectors: chunks.map((c) => store.vectorFor(c.hash)!), keywords: keywords.join('\n') });
  }
  const image = { files, droppedShards, keywordGaps: store.keywordGaps.size };
  await store.close();
  return image;
}

/** Differences between two indexes (at most a few, named): empty when they hold the same. */
export function compareIndexes(actual: IndexImage, expected: IndexImage): string[] {
  const out: string[] = [];
  for (const p of new Set([...actual.files.keys(), ...expected.files.keys()])) {
    const diff = fileDiff(p, actual.files.get(p), expected.files.get(p));
    if (diff) out.push(diff);
    if (out.length >= 5) break;
  }
  return out;
}

/** How one file's entry differs from a clean build's, if it does. */
export function fileDiff(p: string, a: FileImage | undefined, e: FileImage | undefined, checkKeywords = true): string | undefined {
  if (!a || !e) return `${p}: ${a ? 'in the index but not in a clean build' : 'missing from the index'}`;
  if (a.chunks !== e.chunks) return `${p}: other chunks than a clean build`;
  if (checkKeywords && a.keywords !== e.keywords) return `${p}: other keyword postings than a clean build`;
  const worst = Math.max(0, ...a.vectors.map((v, i) => maxAbsDiff(v, e.vectors[i]!)));
  return worst <= 1e-6 ? undefined : `${p}: vectors differ by ${worst}`;
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  if (!a || !b || a.length !== b.length) return Infinity;
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  return worst;
}

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** The CLI as a user runs it; as another user (`uid`) when the check needs permissions to apply to it. */
export function runCli(args: string[], options: { uid?: number; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<CliRun> {
  const started = Date.now();
  return new Promise((resolve) => {
    const env = { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('NEARBY_'))), ...options.env };
    const child = spawn(process.execPath, [CLI_BUNDLE, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'], ...(options.uid !== undefined ? { uid: options.uid, gid: options.uid } : {}) });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 300_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: Date.now() - started });
    });
  });
}

/** A deterministic random source: every run of the suite tries the same moments. */
export function seeded(seed: number): (n: number) => number {
  let state = seed >>> 0 || 1;
  return (n) => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state % n;
  };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function percentile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)]!;
}
