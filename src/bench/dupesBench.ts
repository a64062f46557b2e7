/**
 * `npm run bench:dupes`: near-duplicate detection measured on real package sources against jscpd,
 * and timed at 100k chunks on a synthetic workspace.
 *
 *   node --import tsx src/bench/dupesBench.ts [--json reports/bench-dupes.json] [--synthetic 100000] [--model <tier or folder>]
 *
 * Writes the JSON report, plus beside it <report>-extra-sample.md: 20 groups Nearby finds and jscpd
 * does not, with their code, for a person to judge. Verdicts go in reports/dupes-extra-verdicts.json
 * ({"<group id>": {"verdict": "clone" | "not", "note": "..."}}); the report counts them as precision.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { defaultDupeOptions, DupeIndex, indexedSource, type DupeGroup } from '../core/dupes';
import { eligibleChunks } from '../core/dupes/dupeIndex';
import { chunkKey, SemanticIndex, type SemanticChunk } from '../core/dupes/semantic';
import { Engine } from '../core/engine';
import { syntheticWorkspace } from './dupesSynthetic';

const PROJECT = path.resolve(__dirname, '..', '..');
/** Real, hand-written source trees of well-known packages this project installs (see package-lock.json). */
const PACKAGES: { name: string; dir: string }[] = [
  { name: 'undici', dir: 'node_modules/undici/lib' },
  { name: 'transformers', dir: 'node_modules/@huggingface/transformers/src' },
  { name: 'openai', dir: 'node_modules/openai/src' },
  { name: 'protobufjs', dir: 'node_modules/protobufjs/src' },
  { name: 'ajv', dir: 'node_modules/ajv/lib' },
  { name: 'vectra', dir: 'node_modules/vectra/src' },
];
const SOURCE_FILE = /\.(js|mjs|cjs|ts|mts|cts)$/;
const SAMPLE_SIZE = 20;

interface Fragment {
  path: string;
  start: number;
  end: number;
}
interface JscpdClone {
  a: Fragment;
  b: Fragment;
  tokens: number;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { json: { type: 'string', default: 'reports/bench-dupes.json' }, synthetic: { type: 'string', default: '100000' }, model: { type: 'string' } } });
  const work = mkdtempSync(path.join(os.tmpdir(), 'nearby-bench-dupes-'));
  try {
    // The sample sits beside its report, so a run with another model does not replace the default's.
    const sampleFile = values.json!.replace(/\.json$/, '') + '-extra-sample.md';
    const real = await realCorpus(work, values.model, sampleFile);
    const synthetic = await syntheticTiming(Number(values.synthetic));
    const report = {
      generatedAt: new Date().toISOString(),
      machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version },
      ...real,
      synthetic,
      cloneBenchmarks: 'BigCloneBench and POJ-104 are measured by `nearby eval bigclonebench` and `nearby eval poj104` (reports/eval)',
    };
    mkdirSync(path.dirname(path.resolve(values.json!)), { recursive: true });
    writeFileSync(values.json!, `${JSON.stringify(report, null, 2)}\n`);
    printSummary(report);
    process.stderr.write(`report written to ${values.json}\n`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

async function realCorpus(work: string, model: string | undefined, sampleFile: string) {
  const root = path.join(work, 'ws');
  for (const p of PACKAGES) copySources(path.join(PROJECT, p.dir), path.join(root, p.name));

  process.stderr.write(`indexing the package sources with ${model ?? 'the default model'}...\n`);
  const engine = await Engine.open({ ...(model ? { model } : {}), bundledModelsDir: path.join(PROJECT, 'models'), modelCacheDir: path.join(work, 'models'), threads: 1, roots: [{ root, indexDir: path.join(work, 'index') }] });
  try {
    const index = [...engine.roots.values()][0]!;
    const indexed = await index.index();
    const options = defaultDupeOptions(engine.embedder.info);
    const dupes = new DupeIndex(options);
    const full = await dupes.update(indexedSource(index.root, index.contents));
    const groups = dupes.groups();

    process.stderr.write('running jscpd with its defaults...\n');
    const jscpd = runJscpd(root, work);
    const comparison = compare(groups, jscpd.clones);
    const first = sampleExtras(comparison.extraGroups, root, sampleFile, FIRST_SAMPLE);
    const fresh = sampleExtras(comparison.extraGroups, root, sampleFile.replace(/-extra-sample\.md$/, '-fresh-sample.md'), FRESH_SAMPLE);
    const fresh2 = sampleExtras(comparison.extraGroups, root, sampleFile.replace(/-extra-sample\.md$/, '-fresh2-sample.md'), SECOND_FRESH_SAMPLE);

    const calibration = calibrate(dupes, index.contents, options);

    // One real edit: a function of one file copied into another, then the index and the groups updated.
    const [target, donor] = ['undici/web/fetch/util.js', 'undici/core/util.js'];
    const donorLines = readFileSync(path.join(root, donor), 'utf8').split('\n');
    const targetFile = path.join(root, target);
    writeFileSync(targetFile, `${readFileSync(targetFile, 'utf8')}\n${donorLines.slice(40, 80).join('\n')}\n`);
    const later = new Date(Date.now() + 5_000);
    utimesSync(targetFile, later, later);
    await index.index();
    const incremental = await dupes.update(indexedSource(index.root, index.contents));

    return {
      corpus: {
        packages: PACKAGES.map((p) => ({ name: p.name, source: p.dir, version: packageVersion(p.dir) })),
        files: indexed.filesScanned,
        chunks: indexed.chunksTotal,
        semanticChunks: full.semanticChunks,
        model: engine.embedder.info.id,
      },
      options,
      nearby: {
        groups: groups.length,
        textualGroups: groups.filter((g) => g.kind === 'textual').length,
        semanticGroups: groups.filter((g) => g.kind === 'semantic').length,
        fullPassSeconds: round(full.seconds),
        incrementalAfterOneFile: { seconds: round(incremental.seconds), filesChanged: incremental.filesChanged, groupsRecomputed: incremental.groupsRecomputed, groupsKept: incremental.groupsKept },
      },
      jscpd: { version: jscpd.version, seconds: round(jscpd.seconds), clones: jscpd.clones.length },
      coverage: comparison.coverage,
      extra: {
        groups: comparison.extraGroups.length,
        textual: comparison.extraGroups.filter((g) => g.kind === 'textual').length,
        semantic: comparison.extraGroups.filter((g) => g.kind === 'semantic').length,
        ...first,
        fresh,
        fresh2,
      },
      calibration,
    };
  } finally {
    await engine.dispose();
  }
}

function copySources(from: string, to: string): void {
  for (const entry of readdirSync(from, { withFileTypes: true })) {
    const src = path.join(from, entry.name);
    if (entry.isDirectory()) copySources(src, path.join(to, entry.name));
    else if (SOURCE_FILE.test(entry.name)) {
      mkdirSync(to, { recursive: true });
      cpSync(src, path.join(to, entry.name));
    }
  }
}

function packageVersion(dir: string): string | undefined {
  for (let d = path.join(PROJECT, dir); d !== path.dirname(d); d = path.dirname(d)) {
    const manifest = path.join(d, 'package.json');
    if (existsSync(manifest)) return (JSON.parse(readFileSync(manifest, 'utf8')) as { version?: string }).version;
  }
  return undefined;
}

function runJscpd(root: string, work: string): { clones: JscpdClone[]; seconds: number; version: string } {
  const bin = path.join(PROJECT, 'node_modules', '.bin', 'jscpd');
  const out = path.join(work, 'jscpd');
  const started = performance.now();
  const run = spawnSync(bin, ['-r', 'json', '-o', out, '-s', '.'], { cwd: root, encoding: 'utf8' });
  const seconds = (performance.now() - started) / 1000;
  if (run.status !== 0 && !existsSync(path.join(out, 'jscpd-report.json'))) throw new Error(`jscpd failed: ${run.stderr}`);
  const report = JSON.parse(readFileSync(path.join(out, 'jscpd-report.json'), 'utf8')) as { duplicates: { tokens: number; firstFile: { name: string; start: number; end: number }; secondFile: { name: string; start: number; end: number } }[] };
  const fragment = (f: { name: string; start: number; end: number }): Fragment => ({
    path: path.relative(root, path.resolve(root, f.name)).split(path.sep).join('/'),
    // jscpd sometimes reports a fragment's end before its start.
    start: Math.min(f.start, f.end),
    end: Math.max(f.start, f.end),
  });
  const version = (JSON.parse(readFileSync(path.join(PROJECT, 'node_modules', 'jscpd', 'package.json'), 'utf8')) as { version: string }).version;
  return { clones: report.duplicates.map((d) => ({ a: fragment(d.firstFile), b: fragment(d.secondFile), tokens: d.tokens })), seconds, version };
}

/**
 * A jscpd clone is covered when one Nearby group has two different members that each overlap one
 * of its fragments by at least half the shorter of the two (fragment or member): both tools point
 * at the same two places and put them in one class.
 */
function compare(groups: DupeGroup[], clones: JscpdClone[]) {
  const overlap = (m: Fragment, f: Fragment) => {
    if (m.path !== f.path) return 0;
    const inter = Math.min(m.end, f.end) - Math.max(m.start, f.start) + 1;
    return Math.max(0, inter) / Math.min(f.end - f.start + 1, m.end - m.start + 1);
  };
  const covers = (g: DupeGroup, c: JscpdClone) =>
    g.members.some((m1, i) => overlap(m1, c.a) >= 0.5 && g.members.some((m2, j) => j !== i && overlap(m2, c.b) >= 0.5));
  const perPackage: Record<string, { clones: number; covered: number }> = {};
  const missed: JscpdClone[] = [];
  for (const c of clones) {
    const pkg = c.a.path.split('/')[0]!;
    perPackage[pkg] ??= { clones: 0, covered: 0 };
    perPackage[pkg].clones++;
    if (groups.some((g) => covers(g, c))) perPackage[pkg].covered++;
    else missed.push(c);
  }
  const covered = clones.length - missed.length;
  const touches = (g: DupeGroup) => clones.some((c) => g.members.some((m) => overlap(m, c.a) > 0 || overlap(m, c.b) > 0));
  return {
    coverage: {
      share: clones.length > 0 ? round(covered / clones.length) : null,
      covered,
      clones: clones.length,
      perPackage,
      missed: missed.map((c) => `${c.a.path}:${c.a.start}-${c.a.end} ~ ${c.b.path}:${c.b.start}-${c.b.end} (${c.tokens} jscpd tokens)`),
    },
    extraGroups: groups.filter((g) => !touches(g)),
  };
}

/** Which groups a sample takes (a range of the groups in hash order) and where its verdicts are kept. */
interface SampleSpec {
  title: string;
  from: number;
  count: number;
  verdicts: string;
  /** Groups judged in these earlier samples are passed over. */
  unseenAfter?: string[];
}

const FIRST_SAMPLE: SampleSpec = { title: 'a sample to judge by hand', from: 0, count: SAMPLE_SIZE, verdicts: 'reports/dupes-extra-verdicts.json' };
/** Groups never read before (the next in hash order), judged after every filter was set: the honest check. */
const FRESH_SAMPLE: SampleSpec = { title: 'a fresh sample, judged after the filters were set', from: SAMPLE_SIZE, count: 30, verdicts: 'reports/dupes-fresh-verdicts.json' };
/**
 * The first sample's and the fresh one's false groups shaped later filters (consistent renaming,
 * declarations left out by meaning), so neither can check them: 30 groups judged in neither.
 */
const SECOND_FRESH_SAMPLE: SampleSpec = {
  title: 'a second fresh sample: groups never judged before, read after the filters of 2026-12-07',
  from: 0,
  count: 30,
  verdicts: 'reports/dupes-fresh2-verdicts.json',
  unseenAfter: [FIRST_SAMPLE.verdicts, FRESH_SAMPLE.verdicts],
};

/**
 * A fixed sample (by hash of the group id, so reruns pick the same groups) written out for
 * reading, and its verdicts. Once judged, a sample is a record: it is not drawn or written again,
 * its precision counts the judged groups Nearby still finds, and those it no longer finds (or
 * finds with other members, hence another id) are counted apart.
 */
function sampleExtras(extra: DupeGroup[], root: string, file: string, spec: SampleSpec) {
  const verdicts = readVerdicts(spec.verdicts);
  const judgedIds = Object.keys(verdicts);
  if (judgedIds.length === 0 || !existsSync(file)) writeSample(drawSample(extra, spec), root, file, spec);
  const found = new Set(extra.map((g) => g.id));
  const still = judgedIds.filter((id) => found.has(id));
  const gone = judgedIds.filter((id) => !found.has(id));
  const clones = (ids: string[]) => ids.filter((id) => verdicts[id]!.verdict === 'clone').length;
  return {
    sampleFile: file,
    judged: still.length,
    precision: still.length > 0 ? round(clones(still) / still.length) : null,
    noLongerFound: { clones: clones(gone), not: gone.length - clones(gone) },
  };
}

function drawSample(extra: DupeGroup[], spec: SampleSpec): DupeGroup[] {
  const hash = (id: string) => createHash('sha1').update(`sample:${id}`).digest('hex');
  const seen = new Set((spec.unseenAfter ?? []).flatMap((f) => Object.keys(readVerdicts(f))));
  return extra
    .filter((g) => !seen.has(g.id))
    .sort((x, y) => (hash(x.id) < hash(y.id) ? -1 : 1))
    .slice(spec.from, spec.from + spec.count);
}

function writeSample(sample: DupeGroup[], root: string, file: string, spec: SampleSpec): void {
  const out = [
    `# Groups Nearby finds that jscpd does not: ${spec.title}`,
    '',
    'Written by `npm run bench:dupes`. For each group: its members and the first lines of the first two.',
    `Verdicts are recorded in \`${spec.verdicts}\`.`,
    '',
  ];
  sample.forEach((g, i) => {
    out.push(`## ${i + 1}. ${g.id}: ${g.kind}${g.role && g.role !== 'source' ? ` (${g.role})` : ''}, ${g.members.length} members, ~${g.lines} lines, score ${g.score}`, '');
    for (const m of g.members) out.push(`- \`${m.path}:${m.start}-${m.end}\` (similarity ${m.similarity})`);
    for (const m of g.members.slice(0, 2)) {
      const lines = readFileSync(path.join(root, m.path), 'utf8').split('\n').slice(m.start - 1, Math.min(m.end, m.start + 24));
      out.push('', `\`${m.path}:${m.start}\``, '', '```', ...lines.map((l) => l.slice(0, 140)), '```');
    }
    out.push('');
  });
  writeFileSync(file, out.join('\n'));
}

type Judged = ReturnType<typeof sampleExtras>;

function judgedLine(j: Judged): string {
  if (j.precision === null) return 'no verdicts yet';
  const gone = j.noLongerFound.clones + j.noLongerFound.not;
  return `${j.precision} over ${j.judged}${gone ? ` (no longer found: ${j.noLongerFound.not} judged false, ${j.noLongerFound.clones} judged clones)` : ''}`;
}

function readVerdicts(file: string): Record<string, { verdict: 'clone' | 'not'; note: string }> {
  const full = path.join(PROJECT, file);
  return existsSync(full) ? JSON.parse(readFileSync(full, 'utf8')) : {};
}

/**
 * Evidence for the semantic threshold, on this corpus: cosine of random chunk pairs against cosine
 * of chunk pairs that are textual clones of each other, and how many of all pairs above the
 * threshold (exact, all-pairs) the LSH candidates find.
 */
function calibrate(dupes: DupeIndex, contents: Parameters<typeof indexedSource>[1], options: ReturnType<typeof defaultDupeOptions>) {
  const chunks: SemanticChunk[] = [];
  for (const p of contents.paths()) chunks.push(...eligibleChunks(p, dupes.tokensOf(p), contents, options));
  const cos = (a: Float32Array, b: Float32Array) => {
    let d = 0;
    for (let i = 0; i < a.length; i++) d += a[i]! * b[i]!;
    return d;
  };
  let state = 12345;
  const rnd = () => (state = (Math.imul(state, 1103515245) + 12345) >>> 0) / 4294967296;
  const random: number[] = [];
  while (random.length < 200_000 && chunks.length > 1) {
    const a = chunks[Math.floor(rnd() * chunks.length)]!;
    const b = chunks[Math.floor(rnd() * chunks.length)]!;
    if (a.path !== b.path) random.push(cos(a.vector, b.vector));
  }
  // Chunks that are (nearly whole) members of one textual group: copies, renamed or edited.
  const textual: number[] = [];
  const byPath = new Map<string, SemanticChunk[]>();
  for (const c of chunks) (byPath.get(c.path) ?? byPath.set(c.path, []).get(c.path)!).push(c);
  const within = (c: SemanticChunk, m: Fragment) => c.path === m.path && c.startLine >= m.start - 1 && c.endLine <= m.end + 1;
  for (const g of dupes.groups()) {
    if (g.kind !== 'textual') continue;
    const [center, ...rest] = g.members;
    for (const ca of byPath.get(center!.path) ?? []) {
      if (!within(ca, center!)) continue;
      for (const m of rest) {
        for (const cb of byPath.get(m.path) ?? []) {
          if (within(cb, m) && Math.abs(ca.startLine - center!.start - (cb.startLine - m.start)) <= 3) textual.push(cos(ca.vector, cb.vector));
        }
      }
    }
  }
  const exact = new Set<string>();
  for (let i = 0; i < chunks.length; i++) {
    for (let j = i + 1; j < chunks.length; j++) {
      const a = chunks[i]!;
      const b = chunks[j]!;
      if (a.path === b.path && a.startLine <= b.endLine && b.startLine <= a.endLine) continue;
      if (cos(a.vector, b.vector) >= options.threshold) exact.add([chunkKey(a), chunkKey(b)].sort().join(' '));
    }
  }
  const lsh = new SemanticIndex(chunks[0]?.vector.length ?? 1, options.threshold);
  lsh.add(chunks);
  const found = lsh.pairsFor(new Set(chunks.map((c) => c.path)), (a, b) => !(a.path === b.path && a.startLine <= b.endLine && b.startLine <= a.endLine));
  const foundKeys = new Set(found.map((p) => [p.a, p.b].sort().join(' ')));
  let recalled = 0;
  for (const k of exact) if (foundKeys.has(k)) recalled++;
  const quantile = (xs: number[], q: number) => round([...xs].sort((x, y) => x - y)[Math.min(xs.length - 1, Math.floor(q * xs.length))] ?? NaN);
  const share = (xs: number[], t: number) => round(xs.filter((x) => x >= t).length / Math.max(1, xs.length));
  return {
    eligibleChunks: chunks.length,
    threshold: options.threshold,
    randomPairs: { count: random.length, median: quantile(random, 0.5), p99: quantile(random, 0.99), p999: quantile(random, 0.999), max: quantile(random, 1) },
    textualClonePairs: { count: textual.length, p10: quantile(textual, 0.1), median: quantile(textual, 0.5) },
    byThreshold: [0.85, 0.88, 0.9, 0.92, 0.94, 0.96, 0.98].map((t) => ({ threshold: t, randomAbove: share(random, t), textualClonesAbove: share(textual, t), allPairsAbove: countPairsAbove(chunks, t) })),
    lsh: { exactPairsAboveThreshold: exact.size, foundByLsh: recalled, recall: exact.size > 0 ? round(recalled / exact.size) : null },
  };
}

function countPairsAbove(chunks: SemanticChunk[], t: number): number {
  let n = 0;
  for (let i = 0; i < chunks.length; i++) {
    const a = chunks[i]!.vector;
    for (let j = i + 1; j < chunks.length; j++) {
      const b = chunks[j]!.vector;
      let d = 0;
      for (let k = 0; k < a.length; k++) d += a[k]! * b[k]!;
      if (d >= t) n++;
    }
  }
  return n;
}

async function syntheticTiming(chunkCount: number) {
  process.stderr.write(`synthetic workspace of ${chunkCount} chunks...\n`);
  const ws = syntheticWorkspace(chunkCount, 256);
  const dupes = new DupeIndex({ minLines: 5, minTokens: 50, threshold: 0.92, kinds: ['textual', 'semantic'] });
  const full = await dupes.update(ws.source);
  const groups = dupes.groups();
  const together = (kind: 'textual' | 'semantic', [a, b]: [string, string]) => {
    const [pa, ra] = a.split('#') as [string, string];
    const [pb, rb] = b.split('#') as [string, string];
    const [sa, ea] = ra.split('-').map(Number) as [number, number];
    const [sb, eb] = rb.split('-').map(Number) as [number, number];
    const hit = (m: Fragment, p: string, s: number, e: number) => m.path === p && m.start <= e && s <= m.end;
    return groups.some((g) => g.kind === kind && g.members.some((m) => hit(m, pa, sa, ea)) && g.members.some((m) => hit(m, pb, sb, eb)));
  };
  const textualFound = ws.textualPlants.filter((p) => together('textual', p)).length;
  const semanticFound = ws.semanticPlants.filter((p) => together('semantic', p) || together('textual', p)).length;
  const edited = ws.editOneFile();
  const incremental = await dupes.update(ws.source);
  return {
    chunks: ws.chunks,
    files: ws.files,
    fullPassSeconds: round(full.seconds),
    incrementalAfterOneFileSeconds: round(incremental.seconds),
    incremental: { file: edited, filesChanged: incremental.filesChanged, groupsRecomputed: incremental.groupsRecomputed, groupsKept: incremental.groupsKept },
    groups: groups.length,
    plantedTextualCopies: { planted: ws.textualPlants.length, found: textualFound },
    plantedSemanticPairs: { planted: ws.semanticPlants.length, found: semanticFound },
    rssMb: Math.round(process.memoryUsage().rss / 1e6),
  };
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}

function printSummary(r: {
  coverage: { share: number | null; covered: number; clones: number };
  extra: { groups: number; textual: number; semantic: number } & Judged & { fresh: Judged; fresh2: Judged };
  nearby: { groups: number; fullPassSeconds: number; incrementalAfterOneFile: { seconds: number } };
  jscpd: { seconds: number; clones: number };
  corpus: { files: number; chunks: number };
  calibration: { lsh: { recall: number | null } };
  synthetic: { chunks: number; fullPassSeconds: number; incrementalAfterOneFileSeconds: number; plantedTextualCopies: { planted: number; found: number }; plantedSemanticPairs: { planted: number; found: number } };
}): void {
  const rows = [
    ['real corpus', `${r.corpus.files} files, ${r.corpus.chunks} chunks`],
    ['jscpd clones covered', `${r.coverage.covered}/${r.coverage.clones} = ${r.coverage.share}`],
    ['Nearby groups', `${r.nearby.groups} (${r.extra.groups} with no jscpd clone: ${r.extra.textual} textual, ${r.extra.semantic} semantic)`],
    ['hand-checked sample, still found', judgedLine(r.extra)],
    ['fresh sample, still found', judgedLine(r.extra.fresh)],
    ['second fresh sample, still found', judgedLine(r.extra.fresh2)],
    ['full pass (real)', `${r.nearby.fullPassSeconds} s (jscpd ${r.jscpd.seconds} s)`],
    ['incremental, one file (real)', `${r.nearby.incrementalAfterOneFile.seconds} s`],
    ['LSH recall vs exact all-pairs', String(r.calibration.lsh.recall)],
    [`full pass, ${r.synthetic.chunks} synthetic chunks`, `${r.synthetic.fullPassSeconds} s`],
    ['incremental, one file (synthetic)', `${r.synthetic.incrementalAfterOneFileSeconds} s`],
    ['planted copies found (synthetic)', `textual ${r.synthetic.plantedTextualCopies.found}/${r.synthetic.plantedTextualCopies.planted}, semantic ${r.synthetic.plantedSemanticPairs.found}/${r.synthetic.plantedSemanticPairs.planted}`],
  ];
  const width = Math.max(...rows.map(([k]) => k!.length));
  for (const [k, v] of rows) process.stdout.write(`${k!.padEnd(width)}  ${v}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
