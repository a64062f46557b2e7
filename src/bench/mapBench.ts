/**
 * `npm run bench:map`: the map measured on real projects (the test split of eval/realrepo, fetched
 * from Debian's archive like `nearby eval realrepo` does).
 *
 *   node --import tsx src/bench/mapBench.ts [--json reports/bench-map.json] [--rounds 3] [--big <folder> --big-points 100000]
 *
 * 1. Timing as users meet it, through the worker: a two-folder workspace of about 10k chunks
 *    (Chart.js and Falcon), the map laid out with no cache (cold), opened again from the cache
 *    (warm, also by a fresh worker as a new window would), and the worker's peak memory.
 * 2. Which projection, on each test project in-process: PCA, umap-js (the JavaScript UMAP
 *    library, its defaults, on the same exact neighbour graph) and Nearby's UMAP (typed arrays,
 *    t-SNE's curve, 40 negative samples): the share of 10 nearest neighbours each keeps, and its time.
 * 3. With --big: a map of a large index (e.g. node_modules with 100,000 points) through the
 *    worker, written as a standalone page (in the temporary folder) whose frame rate
 *    test/e2e/mapRender.e2e.mjs measures when NEARBY_BIG_MAP names it.
 */
import { existsSync, readFileSync, rmSync, mkdirSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { UMAP } from 'umap-js';
import { firstNeighbours, neighbourGraph, neighbourPreservation, pcaLayout, rowDot, umapLayout, type NeighbourGraph } from '../core/map/layout';
import { seededRandom } from '../core/random';
import { standaloneMapHtml } from '../core/map/mapPage';
import { IndexStore } from '../core/store/indexStore';
import { fetchProject, loadRealRepo } from '../eval/realRepo';
import { defaultThreads, userCacheDir } from '../paths';
import { WorkerClient } from '../worker/client';
import type { WorkerConfig } from '../worker/protocol';
import { median, peakRssMb, sourceCommit } from './report';

const PROJECT = path.resolve(__dirname, '..', '..');
const WORKER = { workerPath: path.join(PROJECT, 'src', 'worker', 'main.ts'), execArgv: ['--import', 'tsx'] };
const WORKSPACE = ['chartjs', 'falcon'];

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { json: { type: 'string', default: 'reports/bench-map.json' }, rounds: { type: 'string', default: '3' }, big: { type: 'string' }, 'big-points': { type: 'string', default: '100000' } } });
  const rounds = Number(values.rounds);
  const cache = userCacheDir();
  const { projects } = loadRealRepo(PROJECT, 'test');
  const roots = new Map<string, { root: string; indexDir: string }>();
  for (const p of projects) roots.set(p.name, { root: await fetchProject(p, path.join(cache, 'eval', 'realrepo')), indexDir: path.join(os.tmpdir(), 'nearby-bench-map', p.name) });
  const config: Omit<WorkerConfig, 'roots'> = { bundledModelsDir: path.join(PROJECT, 'models'), modelCacheDir: path.join(cache, 'models'), threads: defaultThreads() };
  const log = (line: string) => process.stderr.write(`bench map: ${line}\n`);

  log('indexing the test projects');
  const indexer = new WorkerClient({ ...WORKER, config: { ...config, roots: [...roots.values()] } });
  let model: string;
  try {
    model = (await indexer.start()).id;
    await indexer.request('index', {});
  } finally {
    await indexer.dispose();
  }

  const workspace = WORKSPACE.map((name) => roots.get(name)!);
  const timing = await workspaceTiming(workspace, config, rounds, log);
  const methods = [];
  for (const [name, r] of roots) methods.push(await compareMethods(name, r.indexDir, log));
  const big = values.big ? await bigMap(path.resolve(values.big), Number(values['big-points']), config, log) : undefined;

  const report = { commit: sourceCommit(), model, cores: os.availableParallelism(), workspace: timing, methods, ...(big ? { big } : {}) };
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  mkdirSync(path.dirname(path.resolve(values.json!)), { recursive: true });
  writeFileSync(values.json!, `${JSON.stringify(report, null, 2)}\n`);
}

async function workspaceTiming(workspace: { root: string; indexDir: string }[], config: Omit<WorkerConfig, 'roots'>, rounds: number, log: (l: string) => void) {
  for (const r of workspace) rmSync(path.join(r.indexDir, 'map.json'), { force: true });
  const client = new WorkerClient({ ...WORKER, config: { ...config, roots: workspace } });
  try {
    await client.start();
    const status = await client.request('status', {});
    let t = performance.now();
    const cold = await client.request('map', {});
    const coldS = (performance.now() - t) / 1000;
    log(`cold: ${cold.shown} points in ${coldS.toFixed(2)} s (${JSON.stringify(cold.build.ms)}), ${(cold.quality.preservation * 100).toFixed(1)}% of neighbours kept`);
    const warm: number[] = [];
    for (let i = 0; i < rounds; i++) {
      t = performance.now();
      const again = await client.request('map', {});
      warm.push((performance.now() - t) / 1000);
      if (!again.build.cached) throw new Error('the second map was not read from the cache');
    }
    const rss = peakRssMb(client.pid!);
    await client.dispose();
    // A new window: a fresh worker opening the index, then the map from the cache.
    const fresh = new WorkerClient({ ...WORKER, config: { ...config, roots: workspace } });
    try {
      await fresh.start();
      t = performance.now();
      await fresh.request('map', {});
      const freshS = (performance.now() - t) / 1000;
      log(`warm: median ${median(warm).toFixed(2)} s; fresh worker ${freshS.toFixed(2)} s`);
      return {
        roots: workspace.map((r) => path.basename(r.root)),
        chunks: status.roots.reduce((n, r) => n + r.chunks, 0),
        points: cold.shown,
        regions: cold.regions.length,
        neighbours_kept: cold.quality.preservation,
        cold_s: round(coldS),
        cold_ms_by_step: cold.build.ms,
        warm_median_s: round(median(warm)),
        warm_fresh_worker_s: round(freshS),
        worker_peak_rss_mb: Math.round(rss),
      };
    } finally {
      await fresh.dispose();
    }
  } finally {
    await client.dispose();
  }
}

/** The same vectors laid out three ways; each scored by the share of 10 nearest neighbours kept. */
async function compareMethods(name: string, indexDir: string, log: (l: string) => void) {
  const manifest = JSON.parse(readFileSync(path.join(indexDir, 'manifest.json'), 'utf8'));
  const { store } = await IndexStore.open(indexDir, { modelId: manifest.modelId, dimension: manifest.dimension, chunkerVersion: manifest.chunkerVersion });
  const d = manifest.dimension as number;
  const hashes = [...store.paths()].sort().flatMap((p) => store.chunksOf(p).map((c) => c.hash));
  const n = hashes.length;
  const vectors = new Float32Array(n * d);
  hashes.forEach((h, i) => vectors.set(store.vectorFor(h)!, i * d));
  const cosine = (i: number, j: number) => rowDot(vectors, d, i, j);
  let t = performance.now();
  const graph = neighbourGraph(vectors, n, d, 15);
  const graphMs = performance.now() - t;
  const ten = firstNeighbours(graph, 10);
  const score = (xy: Float32Array) => round(neighbourPreservation(ten, xy, n, cosine));
  t = performance.now();
  const pca = pcaLayout(vectors, n, d);
  const pcaMs = performance.now() - t;
  t = performance.now();
  const library = umapJs(graph, n);
  const libraryMs = performance.now() - t;
  t = performance.now();
  const ours = await umapLayout(ten, n, pca);
  const oursMs = performance.now() - t + pcaMs;
  const row = {
    project: name,
    chunks: n,
    neighbour_graph_ms: Math.round(graphMs),
    pca: { neighbours_kept: score(pca), ms: Math.round(pcaMs) },
    umap_js: { neighbours_kept: score(library), ms: Math.round(libraryMs) },
    nearby_umap: { neighbours_kept: score(ours), ms: Math.round(oursMs) },
  };
  log(`${name} (${n} chunks): PCA ${row.pca.neighbours_kept} in ${row.pca.ms} ms, umap-js ${row.umap_js.neighbours_kept} in ${row.umap_js.ms} ms, Nearby ${row.nearby_umap.neighbours_kept} in ${row.nearby_umap.ms} ms`);
  return row;
}

/** umap-js with its defaults (15 neighbours, min_dist 0.1, random start) on the exact neighbour graph. */
function umapJs(graph: NeighbourGraph, n: number): Float32Array {
  const knnIndices: number[][] = [];
  const knnDistances: number[][] = [];
  for (let i = 0; i < n; i++) {
    const idx = [i];
    const dist = [0];
    for (let j = 0; j < graph.k - 1; j++) {
      idx.push(graph.indices[i * graph.k + j]!);
      dist.push(Math.sqrt(Math.max(0, 2 - 2 * graph.cosines[i * graph.k + j]!)));
    }
    knnIndices.push(idx);
    knnDistances.push(dist);
  }
  const umap = new UMAP({ nNeighbors: graph.k, random: seededRandom(42) });
  umap.setPrecomputedKNN(knnIndices, knnDistances);
  const epochs = umap.initializeFit(Array.from({ length: n }, () => []));
  for (let e = 0; e < epochs; e++) umap.step();
  const xy = new Float32Array(2 * n);
  umap.getEmbedding().forEach((p, i) => {
    xy[2 * i] = p[0]!;
    xy[2 * i + 1] = p[1]!;
  });
  return xy;
}

/** A large index's map through the worker (index it first), written as a standalone page. */
async function bigMap(root: string, points: number, config: Omit<WorkerConfig, 'roots'>, log: (l: string) => void) {
  const indexDir = path.join(userCacheDir(), 'indexes', `bench-map-${path.basename(root)}`);
  const client = new WorkerClient({ ...WORKER, config: { ...config, roots: [{ root, indexDir }] } });
  try {
    log(`indexing ${root}`);
    await client.request('index', {});
    rmSync(path.join(indexDir, 'map.json'), { force: true });
    const t = performance.now();
    const map = await client.request('map', { maxPoints: points });
    const seconds = (performance.now() - t) / 1000;
    const page = path.join(os.tmpdir(), 'nearby-map-big.html');
    const media = path.join(PROJECT, 'media');
    const asset = (f: string) => readFileSync(path.join(media, f), 'utf8');
    writeFileSync(page, standaloneMapHtml(map, { css: asset('map.css'), render: asset('mapRender.js'), view: asset('mapView.js') }, `Nearby map of ${path.basename(root)}`));
    log(`big: ${map.shown} of ${map.total} chunks in ${seconds.toFixed(1)} s (${JSON.stringify(map.build.ms)}); page ${page}`);
    return { root, total: map.total, points: map.shown, seconds: round(seconds), ms_by_step: map.build.ms, neighbours_kept: map.quality.preservation, worker_peak_rss_mb: Math.round(peakRssMb(client.pid!)), page: existsSync(page) ? page : null };
  } finally {
    await client.dispose();
  }
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}

main().catch((err: Error) => {
  process.stderr.write(`bench map: ${err.stack ?? err.message}\n`);
  process.exit(1);
});
