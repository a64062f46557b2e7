import { mkdtemp, rm } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { Chunker, CHUNKER_VERSION } from '../core/chunk';
import { TransformersEmbedder } from '../core/embed/embedder';
import type { ResolvedModel } from '../core/embed/resolveModel';
import { InlineParser, TermReceiver, TermSender, type FileParser, type ParsedFile } from '../core/index/fileParser';
import { MAX_STOLEN_BYTES, toStored } from '../core/index/indexer';
import { planIndex } from '../core/index/plan';
import { FILES_PER_LANE, ParserPool } from '../core/index/parserPool';
import { scanFiles } from '../core/scan/scanner';
import { fileTerms } from '../core/search/codeTokens';
import { IndexStore } from '../core/store/indexStore';
import { sourceCommit } from './report';

/** New texts timed in full batches for the model's rate. */
const MODEL_SAMPLE = 20_000;

/** What one file costs each thread, measured on this machine. */
export interface FileCost {
  /** Read, chunk, tokenize, find and number its keyword terms: a parsing thread's work. */
  parseMs: number;
  /** Take its terms in and store its chunks, vectors and postings: the indexing thread's work. */
  storeMs: number;
  /** Chunks never seen before in the run (the only ones the model embeds). */
  newChunks: number;
  bytes: number;
}

export interface MeasuredCosts {
  files: FileCost[];
  chunks: number;
  /** The model from token ids, in batches of 256, per new chunk. */
  modelMsPerChunk: number;
  /** Writing the finished index. */
  flushMs: number;
}

/**
 * Every file's cost on one thread, in the order an index run reads them: what the simulation
 * replays. Each part is timed as the pipeline runs it (terms numbered by a sender and taken in by
 * a receiver, as between the threads), but one after another on this thread.
 */
export async function measureCosts(root: string, model: ResolvedModel, log: (line: string) => void): Promise<MeasuredCosts> {
  const chunker = await Chunker.create();
  const embedder = await TransformersEmbedder.load(model, { threads: 1 });
  const dir = await mkdtemp(path.join(os.tmpdir(), 'nearby-bench-threads-'));
  try {
    const { store } = await IndexStore.open(dir, { modelId: embedder.info.id, dimension: embedder.info.dimension, chunkerVersion: CHUNKER_VERSION });
    const parser = new InlineParser(chunker, embedder, { maxTokens: embedder.info.maxTokens });
    const sender = new TermSender();
    const receiver = new TermReceiver();
    const plan = planIndex((await scanFiles(root)).files, store);
    const files: FileCost[] = [];
    const vectorOf = new Map<string, Float32Array>();
    let chunks = 0;
    let modelMs = 0;
    let embedded = 0;
    // New texts met first, for the model's rate in full batches (as the pipeline fills them).
    const sample: { texts: string[]; ids: (Int32Array | undefined)[] } = { texts: [], ids: [] };
    for (const [i, f] of plan.read.entries()) {
      let t = performance.now();
      const parsed = await parser.parse(f.absPath, f.path, 1_000_000);
      const sent = parsed.ok ? sender.send(parsed.terms) : undefined;
      const parseMs = performance.now() - t;
      if (!parsed.ok || !sent) {
        files.push({ parseMs, storeMs: 0, newChunks: 0, bytes: f.size });
        continue;
      }
      const seen = new Set<string>();
      const fresh = parsed.chunks.filter((c) => !vectorOf.has(c.hash) && !seen.has(c.hash) && seen.add(c.hash));
      t = performance.now();
      const vectors = await embedder.embedDocuments(fresh.map((c) => c.text), fresh.map((c) => c.tokenIds));
      modelMs += performance.now() - t;
      embedded += fresh.length;
      fresh.forEach((c, k) => vectorOf.set(c.hash, vectors[k]!));
      for (const c of fresh.slice(0, MODEL_SAMPLE - sample.texts.length)) {
        sample.texts.push(c.text);
        sample.ids.push(c.tokenIds);
      }
      t = performance.now();
      const terms = receiver.receive(sent);
      store.putFile(f.path, { mtimeMs: f.mtimeMs, size: f.size }, parsed.chunks.map((c) => toStored(c, f.role, f.path)), parsed.chunks.map((c) => vectorOf.get(c.hash)!), terms);
      files.push({ parseMs, storeMs: performance.now() - t, newChunks: fresh.length, bytes: f.size });
      chunks += parsed.chunks.length;
      if (i % 2000 === 0) log(`measured ${i} of ${plan.read.length} files`);
    }
    const t = performance.now();
    await store.flush();
    const flushMs = performance.now() - t;
    await store.close();
    // Per file the model runs on small batches; the pipeline fills batches of 256 texts.
    const batched = await batchedModelMs(embedder, sample);
    log(`model: ${(modelMs / Math.max(1, embedded)).toFixed(4)} ms a chunk per file, ${batched.toFixed(4)} ms in batches of 256`);
    return { files, chunks, modelMsPerChunk: batched, flushMs };
  } finally {
    chunker.dispose();
    await embedder.dispose();
    await rm(dir, { recursive: true, force: true });
  }
}

/** The model's time per text from token ids in batches of 256, over a sample (median of three passes). */
async function batchedModelMs(embedder: TransformersEmbedder, { texts, ids }: { texts: string[]; ids: (Int32Array | undefined)[] }): Promise<number> {
  const passes: number[] = [];
  for (let pass = 0; pass < 3; pass++) {
    const t = performance.now();
    for (let i = 0; i < texts.length; i += 256) await embedder.embedDocuments(texts.slice(i, i + 256), ids.slice(i, i + 256));
    passes.push((performance.now() - t) / Math.max(1, texts.length));
  }
  return passes.sort((a, b) => a - b)[1]!;
}

/** Virtual time: callbacks fire in time order, each followed by every promise reaction it set off. */
class VirtualClock {
  now = 0;
  private readonly events: { at: number; seq: number; fire: () => void }[] = [];
  private seq = 0;

  at(time: number, fire: () => void): void {
    // Few events wait at once (one per lane and the indexing thread): a sorted insert is enough.
    const e = { at: time, seq: this.seq++, fire };
    let i = this.events.length;
    while (i > 0 && (this.events[i - 1]!.at > e.at || (this.events[i - 1]!.at === e.at && this.events[i - 1]!.seq > e.seq))) i--;
    this.events.splice(i, 0, e);
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.at(this.now + ms, resolve));
  }

  /** Runs until `done` settles; fails if nothing is left to happen before it does. */
  async run(done: Promise<void>): Promise<void> {
    let finished = false;
    void done.then(() => (finished = true), () => (finished = true));
    for (;;) {
      await new Promise((r) => setImmediate(r));
      if (finished) return done;
      const e = this.events.shift();
      if (!e) throw new Error('the simulation stalled');
      this.now = e.at;
      e.fire();
    }
  }
}

const SIMULATED: ParsedFile = { ok: true, chunks: [], terms: fileTerms([]) };

/** A parsing thread in virtual time: parses the files it is given one after another, each taking its measured time. */
class SimulatedLane implements FileParser {
  private freeAt = 0;
  constructor(
    private readonly clock: VirtualClock,
    private readonly costs: readonly FileCost[],
    private readonly handoffMs: number,
  ) {}

  parse(_absPath: string, relPath: string): Promise<ParsedFile> {
    const cost = this.costs[Number(relPath)]!.parseMs + this.handoffMs;
    this.freeAt = Math.max(this.clock.now, this.freeAt) + cost;
    return new Promise((resolve) => this.clock.at(this.freeAt, () => resolve(SIMULATED)));
  }

  async dispose(): Promise<void> {}
}

export interface SimulatedRun {
  cores: number;
  parseLanes: number;
  seconds: number;
  /** Files the indexing thread parsed itself (stolen). */
  stolen: number;
  /** Share of the run the indexing thread was at work. */
  indexingThreadBusy: number;
}

/**
 * One index run in virtual time: the real `ParserPool` hands files to `lanes` simulated parsing
 * threads, and the indexing thread follows the indexer's rules: it keeps `window` files handed
 * out ahead of the one it takes; while that one is not parsed, beside a single parsing thread it
 * parses the next file itself (a large one goes to the pool instead while the pool holds under
 * twice the window), beside several it waits; it then embeds the file's new
 * chunks and stores it; the run ends with the final write.
 */
export async function simulateRun(m: MeasuredCosts, lanes: number, options: { modelMsPerChunk: number; window?: number; handoffMs?: number }): Promise<SimulatedRun> {
  const clock = new VirtualClock();
  const pool = new ParserPool(Array.from({ length: lanes }, () => new SimulatedLane(clock, m.files, options.handoffMs ?? 0)), FILES_PER_LANE);
  const window = options.window ?? 256;
  const n = m.files.length;
  const settled = new Uint8Array(n);
  let next = 0;
  let withPool = 0;
  let stolen = 0;
  let busyMs = 0;
  let wake: () => void = () => undefined;
  const handOut = () => {
    const i = next++;
    withPool++;
    void pool.parse('', String(i), 0).then(() => {
      settled[i] = 1;
      withPool--;
      wake();
    });
  };
  const work = async (ms: number) => {
    busyMs += ms;
    await clock.sleep(ms);
  };
  const indexingThread = async () => {
    for (let i = 0; i < n; i++) {
      const refill = () => {
        while (next < n && withPool < Math.min(window, n - next)) handOut();
      };
      refill();
      while (!settled[i]) {
        refill();
        if (settled[i]) break;
        if (next >= n || lanes > 1) {
          await new Promise<void>((resolve) => (wake = resolve));
          continue;
        }
        if (m.files[next]!.bytes > MAX_STOLEN_BYTES && withPool < Math.min(2 * window, n - next)) {
          handOut();
          continue;
        }
        const s = next++;
        stolen++;
        await work(m.files[s]!.parseMs);
        settled[s] = 1;
      }
      const f = m.files[i]!;
      await work(f.storeMs + f.newChunks * options.modelMsPerChunk);
    }
    await work(m.flushMs);
  };
  await clock.run(indexingThread());
  await pool.dispose();
  return { cores: lanes + 1, parseLanes: lanes, seconds: clock.now / 1000, stolen, indexingThreadBusy: busyMs / clock.now };
}

export interface ThreadBenchReport {
  commit: string | null;
  date: string;
  root: string;
  files: number;
  chunks: number;
  measured_ms: { parse: number; store: number; model: number; flush: number };
  model_ms_per_chunk: number;
  /** With the model, and with the model's time left out (the work around it). */
  runs: { with_model: (SimulatedRun & { speedup: number; of_linear: number })[]; around_model: (SimulatedRun & { speedup: number; of_linear: number })[] };
}

/**
 * `nearby bench threads`: measures every file's costs here, on one thread, then replays them
 * through the real pool for 2, 4, 8 and 16 cores (a parsing thread per core but the indexing
 * thread's). Speed-up is against the same work done on one core, one file after another.
 */
export async function runThreadBench(root: string, model: ResolvedModel, cores: readonly number[], log: (line: string) => void): Promise<ThreadBenchReport> {
  const m = await measureCosts(root, model, log);
  const sum = (f: (c: FileCost) => number) => m.files.reduce((s, c) => s + f(c), 0);
  const parse = sum((c) => c.parseMs);
  const store = sum((c) => c.storeMs);
  const inModel = sum((c) => c.newChunks) * m.modelMsPerChunk;
  log(`measured: parse ${(parse / 1000).toFixed(1)} s, store ${(store / 1000).toFixed(1)} s, model ${(inModel / 1000).toFixed(1)} s, final write ${(m.flushMs / 1000).toFixed(1)} s over ${m.files.length} files, ${m.chunks} chunks`);
  const runs: ThreadBenchReport['runs'] = { with_model: [], around_model: [] };
  for (const [key, modelMsPerChunk, serialMs] of [['with_model', m.modelMsPerChunk, parse + store + inModel + m.flushMs], ['around_model', 0, parse + store + m.flushMs]] as const) {
    for (const c of cores) {
      const run = await simulateRun(m, c - 1, { modelMsPerChunk });
      const speedup = serialMs / 1000 / run.seconds;
      runs[key].push({ ...run, speedup, of_linear: speedup / c });
      log(`${key}: ${c} cores, ${run.seconds.toFixed(2)} s, ${speedup.toFixed(2)}x one core (${((100 * speedup) / c).toFixed(0)}% of linear), indexing thread busy ${(100 * run.indexingThreadBusy).toFixed(0)}%, ${run.stolen} files stolen`);
    }
  }
  return {
    commit: sourceCommit(),
    date: new Date().toISOString(),
    root,
    files: m.files.length,
    chunks: m.chunks,
    measured_ms: { parse, store, model: inModel, flush: m.flushMs },
    model_ms_per_chunk: m.modelMsPerChunk,
    runs,
  };
}
