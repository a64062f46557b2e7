#!/usr/bin/env node
/**
 * `nearby`: the headless face of Nearby's core, for scripts and CI. It drives the same worker
 * process as the extension, so what works here works in the editor.
 */
import * as path from 'node:path';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { printStoreTable } from './bench/report';
import { runIndexBench } from './bench/indexBench';
import { runSearchBench } from './bench/searchBench';
import { runThreadBench } from './bench/threadSim';
import { runStoreBench, runStoreBenchOne } from './bench/storeBench';
import type { IndexSummary } from './core/index/progress';
import { Engine } from './core/engine';
import { DEFAULT_MODEL, resolveModel } from './core/embed/resolveModel';
import { SEARCH_MODES, type SearchMode } from './core/search/hybrid';
import { evaluateRetrieval, type EvalReport } from './eval/retrievalEval';
import { calibrationFrom, labelledHits, reliability, type CalibrationRun } from './eval/calibrate';
import { writeCalibration } from './eval/modelFiles';
import { runRealRepo, type RealRepoReport } from './eval/realRepo';
import { printCloneTable, printEvalTable, printRealRepoTable, printReliabilityTable } from './eval/report';
import { evaluateBigCloneBench, evaluatePoj104, type BigCloneReport, type PojReport } from './eval/cloneEval';
import { Chunker } from './core/chunk';
import { CLONE_SUITES, loadSuite, publicEvalDir, RETRIEVAL_SUITES, SuiteUnavailable } from './eval/suites';
import { defaultIndexDir, defaultThreads, userCacheDir } from './paths';
import { dupesJson, dupesText } from './dupesOutput';
import { ProgressLine } from './progressLine';
import { WorkerClient, WorkerError } from './worker/client';
import { MAX_MAP_POINTS, type RootHit, type SearchReply, type SimilarReply } from './worker/protocol';
import { DEFAULT_MAX_POINTS } from './core/map/workspaceMap';
import { standaloneMapHtml } from './core/map/mapPage';
import type { RunRecord } from './core/store/runRecord';
import { FILE_ROLES, roleOfPath, type FileRole } from './core/scan/fileRole';

const USAGE = `Usage:
  nearby index <root>                               index (or update the index of) a folder
  nearby search <query> --root <root> [-k N] [--include tests,examples,generated,vendored|all]
                                                    find code and docs by meaning (tests and examples held back
                                                    unless included or asked about)
  nearby similar <path>:<start>-<end> --root <root> [-k N]
                                                    find chunks like lines start..end of a file
  nearby status --root <root>                       what the index holds
  nearby dupes --root <root> [--min-lines N] [--min-tokens N] [--threshold T] [--limit N] [--kind source,test,...]
                                                    clone groups: textual copies and semantic near-duplicates
  nearby map --root <root> [--out map.html] [--max-points N]
                                                    a map of the folder by meaning: regions named by their terms,
                                                    written as a standalone HTML page (no network); --json prints
                                                    the coordinates, regions and how many neighbours the map keeps
  nearby bench index [--root <dir>] [--naive-chunks N] [--json <file>]
                                                    indexing throughput: model alone, pipeline, naive loop
                                                    (the naive loop over every file unless N chunks are asked for)
  nearby bench search [--root <dir>] [--rounds N] [--json <file>]
                                                    search latency of a warm worker on a large index (default node_modules)
  nearby bench threads [--root <dir>] [--sizes 2,4,8,16] [--json <file>]
                                                    every file's parsing, storing and model cost measured here on
                                                    one thread, replayed through the parsing pool for more cores
  nearby eval <suite|all> [--mode m] [--split dev|test] [--json <file>]
                                                    retrieval quality (MRR@10, nDCG@10, recall@k) per mode
  nearby eval calibrate [--write]                   fit the model's relevance bands on the dev splits, check them
                                                    on the test splits (--write puts them in the model's nearby.json)
  nearby bench store [--sizes 10000,100000] [--dim 384] [--vectra-max N] [--json <file>]
                                                    Nearby's store against stock Vectra

Options:
  --index-dir <dir>   where the index lives (default: a per-root folder in the user cache)
  --model <m>         model tier (nearby-code-small), Hugging Face id, or a folder (./path or /abs)
  --threads <n>       parsing threads, and inference threads (default: cores - 1)
  --json              machine-readable output
  --mode <m>          search ranking: hybrid (default: keywords and meaning fused), vector, lexical
  -k <n>              number of results (default 10)`;

// `bench` and `eval` take `--json <file>` (a report path); elsewhere `--json` is a switch.
const isBench = process.argv[2] === 'bench' || process.argv[2] === 'eval';
const { values: opts, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    sizes: { type: 'string' },
    dim: { type: 'string' },
    ...(isBench ? { json: { type: 'string' as const } } : {}),
    root: { type: 'string' },
    'index-dir': { type: 'string' },
    model: { type: 'string' },
    threads: { type: 'string' },
    ...(isBench ? {} : { json: { type: 'boolean' as const, default: false } }),
    k: { type: 'string', short: 'k' },
    mode: { type: 'string' },
    split: { type: 'string' },
    'naive-chunks': { type: 'string' },
    'vectra-max': { type: 'string' },
    'min-lines': { type: 'string' },
    'min-tokens': { type: 'string' },
    threshold: { type: 'string' },
    limit: { type: 'string' },
    rounds: { type: 'string' },
    include: { type: 'string' },
    kind: { type: 'string' },
    out: { type: 'string' },
    'max-points': { type: 'string' },
    write: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

class UsageError extends Error {}

function intOption(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${name} must be a positive whole number, got "${value}"`);
  return n;
}

async function dupes(): Promise<number> {
  if (!opts.root) throw new UsageError('dupes needs --root <root>');
  const root = path.resolve(opts.root);
  const threshold = opts.threshold === undefined ? undefined : Number(opts.threshold);
  if (threshold !== undefined && !(threshold > 0 && threshold <= 1)) throw new UsageError(`--threshold must be a number in (0, 1], got "${opts.threshold}"`);
  const progress = new ProgressLine(process.stderr);
  const client = openClient(root, progress);
  try {
    // Line numbers come from the files on disk: bring the index up to date with them first.
    await client.request('index', {});
    progress.done();
    const reports = await client.request('dupes', {
      root,
      ...(opts['min-lines'] !== undefined ? { minLines: intOption('min-lines', opts['min-lines'], 5) } : {}),
      ...(opts['min-tokens'] !== undefined ? { minTokens: intOption('min-tokens', opts['min-tokens'], 50) } : {}),
      ...(threshold !== undefined ? { threshold } : {}),
      ...(opts.limit !== undefined ? { limit: intOption('limit', opts.limit, 50) } : opts.json ? {} : { limit: 30 }),
      ...(opts.kind !== undefined ? { roles: roleList('kind', opts.kind) } : {}),
    });
    process.stdout.write(opts.json ? dupesJson(reports) : dupesText(reports));
    return 0;
  } finally {
    await client.dispose();
  }
}

async function mapCommand(): Promise<number> {
  if (!opts.root) throw new UsageError('map needs --root <root>');
  const root = path.resolve(opts.root);
  const maxPoints = opts['max-points'] !== undefined ? intOption('max-points', opts['max-points'], DEFAULT_MAX_POINTS) : undefined;
  if (maxPoints !== undefined && maxPoints > MAX_MAP_POINTS) throw new UsageError(`--max-points is at most ${MAX_MAP_POINTS}, got ${maxPoints}`);
  const progress = new ProgressLine(process.stderr);
  const client = openClient(root, progress);
  try {
    await client.request('index', {});
    progress.done();
    const map = await client.request('map', maxPoints !== undefined ? { maxPoints } : {});
    if (opts.out) {
      const media = path.join(PROJECT_DIR, 'media');
      const [css, render, view] = await Promise.all(['map.css', 'mapRender.js', 'mapView.js'].map((f) => readFile(path.join(media, f), 'utf8')));
      await mkdir(path.dirname(path.resolve(opts.out)), { recursive: true });
      await writeFile(opts.out, standaloneMapHtml(map, { css: css!, render: render!, view: view! }, `Nearby map of ${path.basename(root)}`));
    }
    if (opts.json) process.stdout.write(`${JSON.stringify(map)}\n`);
    else {
      if (map.notice) process.stderr.write(`nearby: ${map.notice}\n`);
      const how = map.build.cached ? `from the cache${map.build.placed > 0 ? `, ${map.build.placed} new chunks placed` : ''}` : 'laid out afresh';
      process.stdout.write(`${map.shown} chunks of ${map.files.length} files in ${map.regions.length} regions, ready in ${(map.build.ms['total']! / 1000).toFixed(1)} s (${how})\n`);
      process.stdout.write(`neighbours kept: ${(map.quality.preservation * 100).toFixed(1)}% of each chunk's ${map.quality.neighbours} nearest by meaning are among its ${map.quality.neighbours} nearest on the map (${map.quality.sampled} chunks compared)\n`);
      const regions = [...map.regions].sort((a, b) => b.size - a.size);
      for (const r of regions) process.stdout.write(`  ${String(r.size).padStart(6)}  ${r.terms.join(' · ') || '(no telling terms)'}${r.symbols.length > 0 ? `  e.g. ${r.symbols.join(', ')}` : ''}\n`);
      if (opts.out) process.stdout.write(`map written to ${path.resolve(opts.out)}\n`);
    }
    return 0;
  } finally {
    await client.dispose();
  }
}

/** `--include tests,examples`: roles shown beside source and docs (singular or plural, or `all`). */
function includedRoles(value: string | undefined): FileRole[] {
  return value === undefined ? [] : roleList('include', value);
}

/** A comma-separated list of file roles (singular or plural, `fixtures` for examples, or `all`). */
function roleList(option: string, value: string): FileRole[] {
  const roles = new Set<FileRole>();
  for (const word of value.split(',').map((w) => w.trim().toLowerCase()).filter(Boolean)) {
    if (word === 'all') FILE_ROLES.forEach((r) => roles.add(r));
    else {
      const role = FILE_ROLES.find((r) => r === word || `${r}s` === word || (r === 'example' && (word === 'fixtures' || word === 'fixture')));
      if (!role) throw new UsageError(`--${option} takes ${FILE_ROLES.join(', ')} (or their plurals) or all, got "${word}"`);
      roles.add(role);
    }
  }
  return [...roles];
}

function searchMode(value: string | undefined): SearchMode {
  if (value === undefined) return 'hybrid';
  if (!SEARCH_MODES.includes(value as SearchMode)) throw new UsageError(`--mode must be one of ${SEARCH_MODES.join(', ')}, got "${value}"`);
  return value as SearchMode;
}

// The checkout (or installed package) this CLI runs from: dist/cli.js, or src/cli.ts under tsx.
const PROJECT_DIR = path.join(__dirname, '..');
const BUNDLED_MODELS = path.join(PROJECT_DIR, 'models');
const MODEL_CACHE = path.join(userCacheDir(), 'models');
const FROM_SOURCE = __filename.endsWith('.ts');
const WORKER = {
  workerPath: FROM_SOURCE ? path.join(__dirname, 'worker', 'main.ts') : path.join(__dirname, 'worker.js'),
  execArgv: FROM_SOURCE ? ['--import', 'tsx'] : [],
};

/** Writes a report as indented JSON, creating its folder. */
async function writeJson(file: string, data: unknown): Promise<void> {
  await mkdir(path.dirname(path.resolve(file)), { recursive: true });
  await writeFile(file, `${JSON.stringify(data, null, 2)}\n`);
}

function openClient(root: string, onProgress?: ProgressLine): WorkerClient {
  const absRoot = path.resolve(root);
  return new WorkerClient({
    ...WORKER,
    config: {
      ...(opts.model ? { model: opts.model } : {}),
      bundledModelsDir: BUNDLED_MODELS,
      modelCacheDir: MODEL_CACHE,
      threads: intOption('threads', opts.threads, defaultThreads()),
      roots: [{ root: absRoot, indexDir: path.resolve(opts['index-dir'] ?? defaultIndexDir(absRoot)) }],
    },
    onEvent: (e) => {
      if (e.type === 'progress') onProgress?.update(e.progress);
      else if (e.type === 'download') onProgress?.download(e.file, e.loadedBytes, e.totalBytes);
      else if (e.type === 'log' && e.level !== 'info') process.stderr.write(`nearby: ${e.message}\n`);
      else if (e.type === 'restarting') process.stderr.write(`nearby: worker ${e.reason}; restarting in ${e.delayMs} ms (attempt ${e.attempt})\n`);
    },
  });
}

async function main(): Promise<number> {
  const [command, arg] = positionals;
  if (opts.help || !command) {
    process.stdout.write(`${USAGE}\n`);
    return command || opts.help ? 0 : 2;
  }
  const k = intOption('k', opts.k, 10);
  switch (command) {
    case 'index': {
      if (!arg) throw new UsageError('index needs a folder: nearby index <root>');
      const progress = new ProgressLine(process.stderr);
      const client = openClient(arg, progress);
      process.once('SIGINT', () => {
        process.stderr.write('\nnearby: cancelling, committing what is done...\n');
        client.cancel();
      });
      try {
        const model = await client.start();
        progress.note(`model ${model.id} (${model.dimension}-d, ${model.source})`);
        const results = await client.request('index', {});
        progress.done();
        for (const summary of Object.values(results)) printSummary(summary);
        return Object.values(results).some((s) => s.cancelled) ? 130 : 0;
      } finally {
        await client.dispose();
      }
    }
    case 'search':
    case 'similar': {
      if (!arg) throw new UsageError(`${command} needs ${command === 'search' ? 'a query' : '<path>:<start>-<end>'}`);
      if (!opts.root) throw new UsageError(`${command} needs --root <root>`);
      const root = path.resolve(opts.root);
      const client = openClient(root);
      try {
        const reply: SearchReply & Partial<Pick<SimilarReply, 'range'>> = command === 'search' ? await client.request('search', { query: arg, k, previewLines: opts.json ? 0 : 3, mode: searchMode(opts.mode), include: includedRoles(opts.include) }) : { ...(await client.request('similar', { root, ...parseRange(arg, root), k, previewLines: opts.json ? 0 : 3 })), mode: 'vector' };
        const { hits } = reply;
        // An index of another model is not searched: say so rather than look empty.
        const stale = hits.length === 0 && !opts.json ? (await client.request('status', {})).roots.filter((r) => r.pendingRebuild) : [];
        for (const r of stale) process.stdout.write(`no results: the index in ${r.indexDir} must be rebuilt (${r.pendingRebuild}); run: nearby index ${r.root}${r.pendingRebuild?.startsWith('model ') ? ', or search with the --model it was built with' : ''}\n`);
        if (reply.degraded && !opts.json && stale.length === 0) process.stderr.write(`nearby: ${reply.degraded}\n`);
        if (reply.heldBack && !opts.json) process.stderr.write(`nearby: held back ${describeHeldBack(reply.heldBack)} (show them with --include)\n`);
        if (stale.length === 0) printHits(command === 'search' ? { query: arg, ...reply } : { ...reply, range: reply.range! }, hits, command === 'similar');
        return 0;
      } finally {
        await client.dispose();
      }
    }
    case 'status': {
      if (!opts.root) throw new UsageError('status needs --root <root>');
      const client = openClient(opts.root);
      try {
        const status = await client.request('status', {});
        if (opts.json) process.stdout.write(`${JSON.stringify(status, null, 2)}\n`);
        else {
          for (const r of status.roots) {
            process.stdout.write(`${r.root}\n  index:  ${r.indexDir}\n  files:  ${r.files}\n  chunks: ${r.chunks}\n  model:  ${r.modelId} (${r.dimension}-d)\n`);
            if (r.pendingRebuild) process.stdout.write(`  state:  to be rebuilt (${r.pendingRebuild}); run: nearby index ${r.root}\n`);
            else if (r.lastRun) process.stdout.write(`  state:  ${describeRun(r.lastRun, r.root)}\n`);
            const m = r.memory;
            process.stdout.write(`  memory: vectors ${mb(m.vectorTableBytes)}, keywords ${mb(m.keywordIndexBytes)} (+ about ${mb(m.keywordVocabularyBytesEstimate)} of vocabulary), ${m.chunkRecords} chunk records\n`);
          }
          const w = status.worker;
          process.stdout.write(`worker: ${mb(w.rss)} resident (JavaScript heap ${mb(w.heapUsed)}, buffers ${mb(w.arrayBuffers)}, other native ${mb(w.external - w.arrayBuffers)})\n`);
        }
        return 0;
      } finally {
        await client.dispose();
      }
    }
    case 'dupes':
      return dupes();
    case 'map':
      return mapCommand();
    case 'bench':
      return bench(arg, positionals.slice(2));
    case 'eval':
      return arg === 'calibrate' ? calibrate() : evaluate(arg);
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

/** `nearby bench search`: search latency of a warm worker on a large index (default: node_modules, ~200k chunks). */
async function benchSearch(): Promise<number> {
  const root = path.resolve(opts.root ?? path.join(PROJECT_DIR, 'node_modules'));
  const report = await runSearchBench({
    root,
    indexDir: path.resolve(opts['index-dir'] ?? defaultIndexDir(root)),
    ...WORKER,
    config: { ...(opts.model ? { model: opts.model } : {}), bundledModelsDir: BUNDLED_MODELS, modelCacheDir: MODEL_CACHE, threads: intOption('threads', opts.threads, defaultThreads()) },
    rounds: intOption('rounds', opts.rounds, 3),
    log: (line) => process.stderr.write(`bench search: ${line}\n`),
  });
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  if (typeof opts.json === 'string') await writeJson(opts.json, report);
  return 0;
}

/** `nearby bench threads`: per-file costs measured here, replayed through the parsing pool for more cores. */
async function benchThreads(): Promise<number> {
  const root = path.resolve(opts.root ?? path.join(PROJECT_DIR, 'node_modules'));
  const model = await resolveModel({ bundledDir: BUNDLED_MODELS, cacheDir: MODEL_CACHE, ...(opts.model ? { model: opts.model } : {}) });
  const cores = (opts.sizes ?? '2,4,8,16').split(',').map((s) => intOption('sizes', s.trim(), 2));
  const report = await runThreadBench(root, model, cores, (line) => process.stderr.write(`bench threads: ${line}\n`));
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  if (typeof opts.json === 'string') await writeJson(opts.json, report);
  return 0;
}

/** `nearby bench index`: indexing throughput and footprint on a real tree (default: node_modules). */
async function benchIndex(): Promise<number> {
  const root = path.resolve(opts.root ?? path.join(PROJECT_DIR, 'node_modules'));
  const model = await resolveModel({ bundledDir: BUNDLED_MODELS, cacheDir: MODEL_CACHE, ...(opts.model ? { model: opts.model } : {}) });
  const report = await runIndexBench({
    root,
    ...WORKER,
    bundledModelsDir: BUNDLED_MODELS,
    modelCacheDir: MODEL_CACHE,
    model,
    threads: intOption('threads', opts.threads, defaultThreads()),
    // The whole corpus by default: a small sample builds a small index, cheaper per chunk than a full one.
    naiveChunks: intOption('naive-chunks', opts['naive-chunks'], Number.POSITIVE_INFINITY),
    log: (line) => process.stderr.write(`bench index: ${line}\n`),
  });
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  if (typeof opts.json === 'string') await writeJson(opts.json, report);
  return 0;
}

/** `nearby eval <suite|all>`: retrieval quality per mode, reports under reports/eval/ (another
 * model's in a folder of its own, so they never overwrite the default model's). */
async function evaluate(which: string | undefined): Promise<number> {
  if (!which) throw new UsageError(`eval needs a suite: ${[...RETRIEVAL_SUITES, 'realrepo', ...CLONE_SUITES].join(', ')} or all`);
  const split = opts.split ?? 'test';
  if (split !== 'dev' && split !== 'test') throw new UsageError(`--split must be dev or test, got "${split}"`);
  const modes = opts.mode ? [searchMode(opts.mode)] : SEARCH_MODES;
  const evalDir = publicEvalDir(PROJECT_DIR);
  const engine = await Engine.open({
    ...(opts.model ? { model: opts.model } : {}),
    bundledModelsDir: BUNDLED_MODELS,
    modelCacheDir: MODEL_CACHE,
    threads: intOption('threads', opts.threads, defaultThreads()),
    roots: [],
  });
  const reports: EvalReport[] = [];
  const realRepo: RealRepoReport[] = [];
  const clones: (BigCloneReport | PojReport)[] = [];
  const reportDir = engine.embedder.info.id === DEFAULT_MODEL ? 'reports/eval' : path.join('reports', 'eval', engine.embedder.info.id.replace(/[^\w.-]+/g, '_'));
  let failed = false;
  try {
    for (const suite of which === 'all' ? [...RETRIEVAL_SUITES, 'realrepo', ...CLONE_SUITES] : [which]) {
      if (CLONE_SUITES.includes(suite)) {
        const chunker = await Chunker.create();
        try {
          const progress = new ProgressLine(process.stderr);
          const onProgress = (done: number, total: number) => progress.update({ phase: 'indexing', filesDone: done, filesTotal: total, chunksEmbedded: done });
          const result = suite === 'bigclonebench' ? await evaluateBigCloneBench(evalDir, chunker, engine.embedder, onProgress) : await evaluatePoj104(evalDir, split, chunker, engine.embedder, onProgress);
          progress.done();
          await writeJson(path.join(reportDir, `${suite}${split === 'test' ? '' : `-${split}`}.json`), result);
          clones.push(result);
        } catch (err) {
          if (!(err instanceof SuiteUnavailable)) throw err;
          process.stderr.write(`nearby eval: skipped ${err.message}\n`);
          failed ||= which !== 'all';
        } finally {
          chunker.dispose();
        }
        continue;
      }
      if (suite === 'realrepo') {
        const results = await runRealRepo({
          projectDir: PROJECT_DIR,
          split,
          cacheDir: userCacheDir(),
          modes,
          openEngine: (root, indexDir) =>
            Engine.open({ ...(opts.model ? { model: opts.model } : {}), bundledModelsDir: BUNDLED_MODELS, modelCacheDir: MODEL_CACHE, threads: intOption('threads', opts.threads, defaultThreads()), roots: [{ root, indexDir }] }),
          isTest: (p) => roleOfPath(p) === 'test',
          log: (line) => process.stderr.write(`nearby eval realrepo: ${line}\n`),
        });
        for (const r of results) await writeJson(path.join(reportDir, `${r.suite}-${r.system}.json`), r);
        realRepo.push(...results);
        continue;
      }
      let loaded;
      try {
        loaded = loadSuite(suite, split, PROJECT_DIR, evalDir);
      } catch (err) {
        if (!(err instanceof SuiteUnavailable)) throw err;
        process.stderr.write(`nearby eval: skipped ${err.message}\n`);
        failed ||= which !== 'all';
        continue;
      }
      const label = split === 'test' ? suite : `${suite}-${split}`;
      const progress = new ProgressLine(process.stderr);
      const results = await evaluateRetrieval(label, loaded, engine.embedder, modes, (done, total) => progress.update({ phase: 'indexing', filesDone: done, filesTotal: total, chunksEmbedded: done }));
      progress.done();
      for (const r of results) await writeJson(path.join(reportDir, `${label}-${r.mode}.json`), r);
      reports.push(...results);
    }
  } finally {
    await engine.dispose();
  }
  if (typeof opts.json === 'string') await writeJson(opts.json, [...reports, ...realRepo, ...clones]);
  printEvalTable(reports);
  printRealRepoTable(realRepo);
  printCloneTable(clones);
  return failed ? 1 : 0;
}

/**
 * `nearby eval calibrate`: fits how the model's cosines and keyword coverage map to relevance on
 * the dev splits and reports, per band, how many hits of the test splits really are relevant.
 */
async function calibrate(): Promise<number> {
  const engine = await Engine.open({ ...(opts.model ? { model: opts.model } : {}), bundledModelsDir: BUNDLED_MODELS, modelCacheDir: MODEL_CACHE, threads: intOption('threads', opts.threads, defaultThreads()), roots: [] });
  const run: CalibrationRun = {
    projectDir: PROJECT_DIR,
    evalDir: publicEvalDir(PROJECT_DIR),
    cacheDir: userCacheDir(),
    embedder: engine.embedder,
    openEngine: (root, indexDir) => Engine.open({ ...(opts.model ? { model: opts.model } : {}), bundledModelsDir: BUNDLED_MODELS, modelCacheDir: MODEL_CACHE, threads: intOption('threads', opts.threads, defaultThreads()), roots: [{ root, indexDir }] }),
    log: (line) => process.stderr.write(`nearby eval calibrate: ${line}\n`),
  };
  try {
    const dev = await labelledHits(run, 'dev');
    const suites = [...new Set(dev.map((r) => r.suite))].join(', ');
    const calibration = calibrationFrom(dev, `dev splits of ${suites}: ${dev.length} top-20 hybrid hits; the real-repository questions weigh as much as the other suites together`);
    const test = await labelledHits(run, 'test');
    const report = { model: engine.embedder.info.id, calibration, dev: reliability(dev, calibration), test: reliability(test, calibration) };
    process.stdout.write(`${JSON.stringify(calibration, null, 2)}\n\n`);
    printReliabilityTable(report.dev, report.test);
    await writeJson(typeof opts.json === 'string' ? opts.json : path.join('reports', 'eval', `calibration-${engine.embedder.info.id.replace(/[^\w.-]+/g, '_')}.json`), report);
    if (opts.write) {
      const dir = engine.model.dir;
      if (path.relative(BUNDLED_MODELS, dir).startsWith('..')) throw new UsageError(`--write only updates the models shipped in ${BUNDLED_MODELS}; ${dir} is not one`);
      await writeCalibration(dir, calibration);
      process.stderr.write(`wrote the calibration into ${path.join(dir, 'nearby.json')} (and SHA256SUMS)\n`);
    }
    return 0;
  } finally {
    await engine.dispose();
  }
}

async function bench(what: string | undefined, rest: string[]): Promise<number> {
  if (what === 'store-one') {
    const [impl, n, dim, phase, dir] = rest;
    if ((impl !== 'nearby' && impl !== 'vectra') || (phase !== 'build' && phase !== 'open') || !dir) throw new UsageError('store-one needs nearby|vectra <n> <dim> build|open <dir>');
    process.stdout.write(`${JSON.stringify(await runStoreBenchOne(impl, Number(n), Number(dim), phase, dir))}\n`);
    return 0;
  }
  if (what === 'index') return benchIndex();
  if (what === 'search') return benchSearch();
  if (what === 'threads') return benchThreads();
  if (what !== 'store') throw new UsageError('bench needs a target: nearby bench store|index|search|threads (see --help)');
  const sizes = (opts.sizes ?? '10000,100000').split(',').map((s) => intOption('sizes', s.trim(), 1));
  const report = runStoreBench(sizes, intOption('dim', opts.dim, 384), [...process.execArgv, process.argv[1]!], intOption('vectra-max', opts['vectra-max'], Number.POSITIVE_INFINITY));
  printStoreTable(report.sizes);
  if (typeof opts.json === 'string') {
    await writeJson(opts.json, report);
    process.stderr.write(`report written to ${opts.json}\n`);
  }
  return 0;
}

function parseRange(spec: string, root: string): { path: string; start: number; end: number } {
  const m = /^(.*):(\d+)(?:-(\d+))?$/.exec(spec);
  if (!m) throw new UsageError(`expected <path>:<start>-<end>, got "${spec}"`);
  const rel = path.relative(root, path.resolve(root, m[1]!)).split(path.sep).join('/');
  if (rel.startsWith('..')) throw new UsageError(`${m[1]} is outside ${root}`);
  const start = Number(m[2]);
  const end = m[3] ? Number(m[3]) : start;
  if (start < 1 || end < start) throw new UsageError(`bad line range ${start}-${end}`);
  return { path: rel, start, end };
}

/**
 * `search --json` prints the query, the ranking used (`mode`, and `degraded` when a side was
 * missing) and the hits; `similar --json` the range compared, `degraded` when some of the
 * model's candidates could not be read, and the hits, each also saying whether it is a
 * near-duplicate of the selection (`duplicate`, or null).
 */
function printHits(asked: (SearchReply & { query: string }) | (SearchReply & { range: SimilarReply['range'] }), hits: RootHit[], similar: boolean): void {
  if (opts.json) {
    const rows = hits.map((h) => ({
      path: h.path,
      start: h.startLine,
      end: h.endLine,
      score: round(h.score),
      ...(h.relevance !== undefined ? { relevance: round(h.relevance), band: h.band } : {}),
      cosine: h.vectorScore !== undefined ? round(h.vectorScore) : null,
      language: h.language,
      kind: h.kind,
      role: h.role ?? 'source',
      symbol: h.symbol ?? null,
      ...(similar && h.shapeScore !== undefined ? { shape: round(h.shapeScore) } : {}),
      ...(similar ? { duplicate: h.likeness ? { kind: h.likeness.kind, similarity: round(h.likeness.similarity), lines: h.likeness.lines } : null } : {}),
    }));
    const degraded = asked.degraded ? { degraded: asked.degraded } : {};
    const out = 'query' in asked
      ? { query: asked.query, mode: asked.mode, ...degraded, held_back: asked.heldBack ?? {}, hits: rows }
      : { range: { path: asked.range.path, start: asked.range.startLine, end: asked.range.endLine }, ...degraded, hits: rows };
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
    return;
  }
  if (hits.length === 0) process.stdout.write('no results (is the folder indexed? run: nearby index <root>)\n');
  // A calibrated model says how likely each hit is to be relevant; a line marks where they turn weak.
  const firstWeak = hits.findIndex((h) => h.band === 'weak');
  hits.forEach((h, i) => {
    if (i === firstWeak) process.stdout.write(`    ${i === 0 ? 'only weak matches' : 'weaker matches below'}\n`);
    const dupe = h.likeness ? `  [${h.likeness.kind} near-duplicate ${h.likeness.similarity.toFixed(2)}${h.likeness.kind === 'textual' ? `, ${h.likeness.lines} lines` : ''}]` : '';
    const score = h.band ? `${h.band.padEnd(8)} ${h.relevance!.toFixed(2)}` : h.score.toFixed(3);
    const cosine = h.vectorScore !== undefined ? `  cos ${h.vectorScore.toFixed(2)}${h.shapeScore !== undefined ? ` shape ${h.shapeScore.toFixed(2)}` : ''}` : '';
    const role = h.role && h.role !== 'source' && h.role !== 'docs' ? `  (${h.role})` : '';
    process.stdout.write(`${String(i + 1).padStart(2)}. ${score}  ${h.path}:${h.startLine}-${h.endLine}${h.symbol ? `  ${h.symbol}` : ''}${role}${cosine}${dupe}\n`);
    const at = h.previewAt ?? [];
    (h.preview ?? '').split('\n').slice(0, 3).forEach((line, j) => {
      if (!line.trim()) return;
      const gap = j > 0 && at[j]! > at[j - 1]! + 1 ? '⋯ ' : '  ';
      process.stdout.write(`    ${gap}${line.slice(0, 100)}\n`);
    });
  });
}

function mb(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

function describeRun(run: RunRecord, root: string): string {
  const partial = run.lastCompleteAt ? '' : ' (the index holds only part of the folder)';
  switch (run.state) {
    case 'complete':
      return `up to date as of ${run.finishedAt}`;
    case 'running':
      return `being indexed since ${run.startedAt}${partial}`;
    case 'interrupted':
      return `the last index run (started ${run.startedAt}) did not finish${partial}; run: nearby index ${root}`;
    default:
      return `the last index run was ${run.state} at ${run.finishedAt}${partial}; run: nearby index ${root}`;
  }
}

/** "3 test hits, 1 example hit" */
function describeHeldBack(heldBack: Partial<Record<FileRole, number>>): string {
  return Object.entries(heldBack).map(([role, n]) => `${n} ${role} hit${n === 1 ? '' : 's'}`).join(', ');
}

function printSummary(s: IndexSummary): void {
  if (opts.json) {
    process.stdout.write(`${JSON.stringify(s, null, 2)}\n`);
    return;
  }
  const skipped = Object.entries(s.filesSkipped).map(([r, n]) => `${n} ${r}`).join(', ') || 'none';
  const lines = [
    s.cancelled ? 'Cancelled: the files done so far are saved; run index again to finish.' : 'Indexed.',
    `  files:  ${s.filesScanned} scanned, ${s.filesIndexed} indexed, ${s.filesUnchanged} unchanged, ${s.filesRemoved} removed; skipped: ${skipped}`,
    `  chunks: ${s.chunksNew} new, ${s.chunksChanged} changed, ${s.chunksRemoved} removed, ${s.chunksReused} reused; ${s.chunksTotal} in the index`,
    `  time:   ${s.seconds.toFixed(1)} s`,
  ];
  if (s.rebuiltBecause) lines.splice(1, 0, `  rebuilt from scratch: ${s.rebuiltBecause}`);
  process.stdout.write(`${lines.join('\n')}\n`);
  const shown = s.warnings.slice(0, 20);
  for (const w of shown) process.stderr.write(`  note: ${w}\n`);
  if (s.warnings.length > shown.length) process.stderr.write(`  (${s.warnings.length - shown.length} more notes; use --json for all)\n`);
}

function round(x: number): number {
  return Math.round(x * 10_000) / 10_000;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof UsageError) process.stderr.write(`nearby: ${err.message}\n\n${USAGE}\n`);
    else if (err instanceof WorkerError) process.stderr.write(`nearby: ${err.message}\n`);
    else process.stderr.write(`nearby: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(err instanceof UsageError ? 2 : 1);
  },
);
