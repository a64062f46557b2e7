import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { kMeans, regionTerms } from '../../src/core/map/clusters';
import { neighbourGraph, neighbourPreservation, pcaLayout, umapLayout } from '../../src/core/map/layout';
import { seededRandom } from '../../src/core/random';
import { standaloneMapHtml } from '../../src/core/map/mapPage';
import type { WorkspaceMap } from '../../src/core/map/workspaceMap';
import { parseMapMessage } from '../../src/vscode/map/mapProtocol';
import { WorkerClient, WorkerError } from '../../src/worker/client';
import { BUNDLED_MODELS, PROJECT_ROOT, WORKER_SOURCE } from '../helpers/paths';

/** `groups` clusters of `size` unit vectors in `d` dimensions, each a noisy copy of its centre; row i is in cluster floor(i / size). */
function clusteredVectors(groups: number, size: number, d: number, noise: number, seed = 3): Float32Array {
  const random = seededRandom(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(random() + 1e-12)) * Math.cos(2 * Math.PI * random());
  const out = new Float32Array(groups * size * d);
  for (let g = 0; g < groups; g++) {
    const centre = Array.from({ length: d }, gauss);
    for (let s = 0; s < size; s++) {
      const row = (g * size + s) * d;
      let norm = 0;
      for (let j = 0; j < d; j++) {
        out[row + j] = centre[j]! + noise * gauss();
        norm += out[row + j]! ** 2;
      }
      for (let j = 0; j < d; j++) out[row + j]! /= Math.sqrt(norm);
    }
  }
  return out;
}

function cosineOf(v: Float32Array, d: number) {
  return (i: number, j: number) => {
    let s = 0;
    for (let x = 0; x < d; x++) s += v[i * d + x]! * v[j * d + x]!;
    return s;
  };
}

describe('map layout', () => {
  const d = 48;
  const groups = 6;
  const size = 120;
  const n = groups * size;
  const vectors = clusteredVectors(groups, size, d, 0.9);
  const cosine = cosineOf(vectors, d);

  test('the neighbour graph is the exact top k by cosine (up to int8 rounding), never the point itself', () => {
    const k = 10;
    const graph = neighbourGraph(vectors, n, d, k);
    for (const i of [0, 17, 333, n - 1]) {
      const exact = Array.from({ length: n }, (_, j) => j).filter((j) => j !== i).sort((a, b) => cosine(i, b) - cosine(i, a));
      const found = Array.from(graph.indices.subarray(i * k, i * k + k));
      assert.ok(!found.includes(i));
      // Every neighbour found is at least as close as the exact k-th, within quantization error.
      for (const j of found) assert.ok(cosine(i, j) >= cosine(i, exact[k - 1]!) - 0.01, `row ${i}: ${j} is not among the nearest`);
      for (let r = 0; r < k; r++) assert.ok(Math.abs(graph.cosines[i * k + r]! - cosine(i, found[r]!)) < 0.01);
    }
    const some = neighbourGraph(vectors, n, d, 5, { queries: [3, 400], among: [0, 1, 2, 3, 4, 5, 6, 7, 401, 402] });
    assert.deepEqual(some.rows, [3, 400]);
    assert.ok(Array.from(some.indices).every((j) => [0, 1, 2, 4, 5, 6, 7, 401, 402].includes(j)));
  });

  test('UMAP keeps each cluster together and apart, and keeps more neighbours than PCA', async () => {
    const graph = neighbourGraph(vectors, n, d, 10);
    const pca = pcaLayout(vectors, n, d);
    const xy = await umapLayout(graph, n, pca, { epochs: 150 });
    const kept = neighbourPreservation(graph, xy, n, cosine);
    const keptByPca = neighbourPreservation(graph, pca, n, cosine);
    assert.ok(kept > keptByPca, `UMAP kept ${kept}, PCA ${keptByPca}`);
    // Each point's nearest points on the map are of its own cluster.
    let same = 0;
    for (let i = 0; i < n; i++) {
      const near = Array.from({ length: n }, (_, j) => j).filter((j) => j !== i).sort((a, b) => Math.hypot(xy[2 * a]! - xy[2 * i]!, xy[2 * a + 1]! - xy[2 * i + 1]!) - Math.hypot(xy[2 * b]! - xy[2 * i]!, xy[2 * b + 1]! - xy[2 * i + 1]!)).slice(0, 5);
      same += near.filter((j) => Math.floor(j / size) === Math.floor(i / size)).length / 5;
    }
    assert.ok(same / n >= 0.95, `${same / n} of map neighbours share a cluster`);
    // Same input, same map.
    assert.deepEqual(await umapLayout(graph, n, pca, { epochs: 150 }), xy);
  });

  test('k-means finds well-separated regions whatever its first picks', () => {
    const random = seededRandom(5);
    const centres = [[0.1, 0.1], [0.9, 0.1], [0.5, 0.5], [0.1, 0.9], [0.9, 0.9], [0.5, 0.95]];
    const per = 100;
    const xy = new Float32Array(2 * centres.length * per);
    centres.forEach(([cx, cy], c) => {
      for (let s = 0; s < per; s++) {
        xy[2 * (c * per + s)] = cx! + (random() - 0.5) * 0.06;
        xy[2 * (c * per + s) + 1] = cy! + (random() - 0.5) * 0.06;
      }
    });
    const { assignment } = kMeans(xy, centres.length * per, centres.length);
    for (let c = 0; c < centres.length; c++) assert.equal(new Set(assignment.subarray(c * per, (c + 1) * per)).size, 1, `cluster ${c} was split`);
    assert.equal(new Set(assignment).size, centres.length);
  });

  test('regions are named by the terms that set them apart, not by words every region has', () => {
    const terms = [
      ['upload', 'retry', 'backoff', 'function', 'return'],
      ['upload', 'retry', 'chunk', 'function', 'return'],
      ['cookie', 'expiry', 'header', 'function', 'return'],
      ['cookie', 'expiry', 'secure', 'function', 'return'],
    ];
    const names = regionTerms(Int32Array.from([0, 0, 1, 1]), 2, (i) => terms[i]!, 2);
    assert.deepEqual(names.map((name) => [...name].sort()), [['retry', 'upload'], ['cookie', 'expiry']]);
  });
});

describe('the map through the worker', () => {
  let dir: string;
  let root: string;
  let client: WorkerClient;
  let first: WorkspaceMap;

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'nearby-map-'));
    root = path.join(dir, 'repo');
    // Nearby's own sources: real code in several folders.
    cpSync(path.join(PROJECT_ROOT, 'src'), root, { recursive: true });
    client = new WorkerClient({
      workerPath: WORKER_SOURCE,
      execArgv: ['--import', 'tsx'],
      config: { bundledModelsDir: BUNDLED_MODELS, modelCacheDir: path.join(dir, 'models'), threads: 1, roots: [{ root, indexDir: path.join(dir, 'index') }] },
    });
    await client.request('index', {});
    first = await client.request('map', {});
  });
  after(async () => {
    await client?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  test('lays out every chunk once, inside the unit square, in named regions, and says how honest it is', async () => {
    const status = await client.request('status', {});
    assert.equal(first.shown, status.roots[0]!.chunks);
    assert.equal(first.total, first.shown);
    assert.equal(first.build.cached, false);
    const p = first.points;
    for (const column of [p.file, p.start, p.end, p.doc, p.y, p.region, p.symbol]) assert.equal(column.length, p.x.length);
    assert.ok(p.x.every((x) => x >= 0 && x <= 1) && p.y.every((y) => y >= 0 && y <= 1));
    assert.ok(p.file.every((f) => f >= 0 && f < first.files.length));
    assert.equal(first.regions.reduce((s, r) => s + r.size, 0), first.shown);
    assert.ok(first.regions.filter((r) => r.terms.length > 0).length >= first.regions.length * 0.8, 'most regions have a name');
    assert.equal(first.quality.neighbours, 10);
    assert.ok(first.quality.preservation > 0.3 && first.quality.preservation <= 1, `kept ${first.quality.preservation}`);
    // The map folder holds its chunks where the index does.
    const where = first.files.findIndex((f) => f.path === 'core/map/layout.ts');
    assert.ok(where >= 0 && p.file.includes(where));
  });

  test('opens from the cache, and a new file lands among its neighbours without moving the others', async () => {
    const again = await client.request('map', {});
    assert.equal(again.build.cached, true);
    assert.equal(again.build.placed, 0);
    assert.deepEqual(again.points.x, first.points.x);
    // A copy of a file: its chunks are placed (not laid out again) beside the original's.
    const copied = path.join(root, 'core', 'map', 'layoutCopy.ts');
    writeFileSync(copied, readFileSync(path.join(root, 'core', 'map', 'layout.ts'), 'utf8').replace(/neighbourGraph/g, 'nearestGraph'));
    await client.request('index', {});
    const placed = await client.request('map', {});
    assert.equal(placed.build.cached, true);
    const copyFile = placed.files.findIndex((f) => f.path === 'core/map/layoutCopy.ts');
    const copyPoints = placed.points.file.flatMap((f, i) => (f === copyFile ? [i] : []));
    assert.ok(copyPoints.length > 0 && placed.build.placed >= 1 && placed.build.placed <= copyPoints.length);
    const originalFile = placed.files.findIndex((f) => f.path === 'core/map/layout.ts');
    const original = placed.points.file.flatMap((f, i) => (f === originalFile ? [i] : []));
    const centre = (ids: number[]) => [ids.reduce((s, i) => s + placed.points.x[i]!, 0) / ids.length, ids.reduce((s, i) => s + placed.points.y[i]!, 0) / ids.length];
    const [ax, ay] = centre(copyPoints);
    const [bx, by] = centre(original);
    assert.ok(Math.hypot(ax! - bx!, ay! - by!) < 0.1, `the copy sits ${Math.hypot(ax! - bx!, ay! - by!)} away from its original`);
    // Points that were there before stay where they were.
    const key = (m: WorkspaceMap, i: number) => `${m.files[m.points.file[i]!]!.path}:${m.points.start[i]}`;
    const before = new Map(first.points.x.map((x, i) => [key(first, i), [x, first.points.y[i]]]));
    let same = 0;
    placed.points.x.forEach((x, i) => {
      const was = before.get(key(placed, i));
      if (was && was[0] === x && was[1] === placed.points.y[i]) same++;
    });
    assert.ok(same >= first.shown * 0.95, `${same} of ${first.shown} points kept their place`);
  });

  test('a damaged cache is laid out afresh, and a point limit samples evenly and says so', async () => {
    writeFileSync(path.join(dir, 'index', 'map.json'), '{"format": 1, "points": [');
    const fresh = await client.request('map', {});
    assert.equal(fresh.build.cached, false);
    const sampled = await client.request('map', { maxPoints: 100 });
    assert.equal(sampled.shown, 100);
    assert.ok(sampled.total > 100);
    assert.match(sampled.notice ?? '', /shows 100 of [\d,]+ chunks/);
    await assert.rejects(client.request('map', { maxPoints: 0 }), (err: WorkerError) => err.code === 'bad-request');
  });
});

describe('map pages and messages', () => {
  test('the standalone page carries its data inert, with a CSP and nothing from the network', () => {
    const evil = '</script><script>alert(1)</script>';
    const map = { roots: ['/r'], total: 1, shown: 1, method: 'umap', files: [{ root: 0, path: evil, language: 'text', role: 'source' }], points: { file: [0], start: [1], end: [2], doc: [0], x: [0.5], y: [0.5], region: [0], symbol: [evil] }, regions: [{ terms: [], symbols: [evil], size: 1, x: 0.5, y: 0.5 }], quality: { neighbours: 10, preservation: 1, sampled: 1 }, build: { cached: false, placed: 0, ms: {} } } as WorkspaceMap;
    const html = standaloneMapHtml(map, { css: 'body{}', render: '/*r*/', view: '/*v*/' }, '<title>');
    assert.ok(!html.includes(evil), 'the path reached the page unescaped');
    assert.match(html, /Content-Security-Policy" content="default-src 'none'; style-src 'nonce-[^']+'; script-src 'nonce-[^']+'"/);
    assert.ok(!/https?:\/\//.test(html), 'the page refers to the network');
    assert.ok(html.includes('&lt;title&gt;'));
    const data = /<script type="application\/json" id="map-data">(.*?)<\/script>/s.exec(html)![1]!;
    assert.equal(JSON.parse(data).files[0].path, evil);
  });

  test('the map tab may only send the messages it has, well formed', () => {
    assert.deepEqual(parseMapMessage({ type: 'search', query: 'retry uploads' }), { type: 'search', query: 'retry uploads' });
    assert.deepEqual(parseMapMessage({ type: 'open', root: '/w', path: 'a.ts', start: 3, end: 9 }), { type: 'open', root: '/w', path: 'a.ts', start: 3, end: 9 });
    assert.deepEqual(parseMapMessage({ type: 'preview', root: '/w', path: 'a.ts', start: 3, end: 9 }), { type: 'preview', root: '/w', path: 'a.ts', start: 3, end: 9 });
    for (const bad of [null, [], 'open', { type: 'exec' }, { type: 'search' }, { type: 'search', query: 'x'.repeat(5000) }, { type: 'open', root: '/w', path: 'a.ts', start: 9, end: 3 }, { type: 'open', root: '/w', path: 'a.ts', start: 0, end: 3 }, { type: 'open', root: 1, path: 'a.ts', start: 1, end: 3 }, { type: 'preview', root: '/w', path: 'a.ts' }]) {
      assert.equal(parseMapMessage(bad), undefined, JSON.stringify(bad));
    }
  });
});
