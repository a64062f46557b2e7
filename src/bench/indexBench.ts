import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Chunker, CHUNKER_VERSION } from '../core/chunk';
import { TransformersEmbedder } from '../core/embed/embedder';
import type { ResolvedModel } from '../core/embed/resolveModel';
import { PARSE_THREAD_IDLE_MS } from '../core/index/fileParser';
import { readSourceFile } from '../core/scan/readSourceFile';
import { scanFiles } from '../core/scan/scanner';
import { IndexStore } from '../core/store/indexStore';
import { WorkerClient } from '../worker/client';
import { median, peakRssMb, sourceCommit } from './report';
import type { WorkerConfig } from '../worker/protocol';

export interface IndexBenchReport {
  /** The checkout measured (with "+changes" when it had uncommitted ones), when run from one. */
  commit: string | null;
  corpus: { root: string; files: number; chunks: number };
  model: string;
  threads: number;
  raw_chunks_per_s: number;
  e2e_chunks_per_s: number;
  naive_chunks_per_s: number;
  naive_sample_chunks: number;
  e2e_over_raw: number;
  e2e_over_naive: number;
  /** The model alone, one chunk per call, on a sample of the same texts. */
  model_one_chunk_per_s: number;
  /** The model's own gain from batching: the same sample in batches over one chunk per call (medians of alternating passes). */
  batching_gain: number;
  /** The model in batches from token ids the chunker assembled, as the pipeline runs it (the same sample). */
  model_from_ids_per_s: number;
  /** Of the naive loop's time per chunk: outside the model (reading, chunking, keywords, storing)... */
  naive_shared_us_per_chunk: number;
  /** ...and in it (tokenizing the text again, one inference per chunk). */
  naive_model_us_per_chunk: number;
  /**
   * How far any pipeline can outrun the naive loop here. It must do the naive loop's work outside
   * the model for every chunk, and the model from ids for each distinct one, on at most
   * min(cap, cores) cores: e2e ≤ cores × embedded / (chunks × shared + embedded / model_from_ids).
   */
  naive_ratio_bound: number;
  /** The same ceiling over `raw_chunks_per_s`: the most `e2e_over_raw` can be here. */
  raw_ratio_bound: number;
  first_result_s: number;
  total_s: number;
  /** The worker's peak resident memory during the run. */
  worker_rss_mb: number;
  /** What the worker holds once the run is over and it sits idle: process totals and the index's structures (see `nearby status`). */
  worker_idle_mb: { rss: number; heap_used: number; array_buffers: number; vector_table: number; keyword_index: number; keyword_vocabulary_estimate: number };
  host_rss_delta_mb: number;
  max_event_loop_delay_ms: number;
  p99_event_loop_delay_ms: number;
  cpu_percent: number;
  cpu_cap_percent: number;
}

export interface IndexBenchOptions {
  root: string;
  workerPath: string;
  execArgv: string[];
  bundledModelsDir: string;
  modelCacheDir: string;
  model: ResolvedModel;
  threads: number;
  /**
   * Chunks timed one at a time for the naive baseline; Infinity for the whole corpus, which also
   * makes it pay what a full index costs (a large heap, writing every shard), as the pipeline does.
   */
  naiveChunks: number;
  log: (line: string) => void;
}

/**
 * Indexing speed on a real tree, in one run: the model alone on the chunk texts, the full pipeline
 * through the worker (this process plays the extension host and watches its own event loop and
 * memory), and a naive one-chunk-at-a-time loop.
 */
export async function runIndexBench(o: IndexBenchOptions): Promise<IndexBenchReport> {
  const e2e = await measurePipeline(o);
  o.log(`pipeline: ${e2e.chunks} chunks from ${e2e.files} files in ${e2e.totalS.toFixed(1)} s; worker peak ${e2e.workerRssMb.toFixed(0)} MB`);
  const m = e2e.idle;
  o.log(`worker idle: ${m.rss} MB resident, heap ${m.heap_used} MB, array buffers ${m.array_buffers} MB; vectors ${m.vector_table} MB, keywords ${m.keyword_index} MB (+ about ${m.keyword_vocabulary_estimate} MB of vocabulary)`);

  // The same chunk texts the pipeline embedded, for the two model-only measures.
  const chunker = await Chunker.create();
  const embedder = await TransformersEmbedder.load(o.model, { threads: o.threads });
  try {
    const texts: string[] = [];
    const idsOf = new Map<string, Int32Array | undefined>();
    const files = (await scanFiles(o.root)).files;
    for (const f of files) {
      const read = readSourceFile(f.absPath, 1_000_000);
      if (!read.ok) continue;
      for (const c of await chunker.chunkFile(f.path, read.text, { maxTokens: embedder.info.maxTokens, tokens: embedder })) {
        texts.push(c.text);
        idsOf.set(c.text, c.tokenIds);
      }
    }
    const unique = [...idsOf.keys()];
    let t = performance.now();
    for (let i = 0; i < unique.length; i += 256) await embedder.embedDocuments(unique.slice(i, i + 256));
    const rawRate = unique.length / ((performance.now() - t) / 1000);
    o.log(`raw model: ${unique.length} texts at ${rawRate.toFixed(0)} chunks/s`);
    const gain = await batchingGain(embedder, unique, idsOf);
    o.log(`one chunk per call: ${gain.oneRate.toFixed(0)} chunks/s, batching gain ${gain.gain.toFixed(2)}, batches from ids ${gain.idsRate.toFixed(0)} chunks/s (${gain.sample} texts)`);

    // Naive: what a simple extension does, in one thread: read a file, chunk it, embed one chunk
    // per call, store the file (vectors and keywords, as the pipeline does). A sample takes every
    // k-th file, so that it has the corpus's mix of languages and sizes.
    const naiveDir = await mkdtemp(path.join(os.tmpdir(), 'nearby-bench-naive-'));
    const naiveStore = (await IndexStore.open(naiveDir, { modelId: embedder.info.id, dimension: embedder.info.dimension, chunkerVersion: CHUNKER_VERSION })).store;
    // Files per sampled file: the corpus's chunks over the sample's, about `naiveChunks` chunks in all.
    const every = Math.max(1, Math.floor(texts.length / o.naiveChunks));
    let done = 0;
    let modelMs = 0;
    t = performance.now();
    for (let i = 0; i < files.length && done < o.naiveChunks; i += every) {
      const f = files[i]!;
      const read = readSourceFile(f.absPath, 1_000_000);
      if (!read.ok) continue;
      const chunks = await chunker.chunkFile(f.path, read.text, { maxTokens: embedder.info.maxTokens, tokens: embedder });
      const vectors: Float32Array[] = [];
      const m = performance.now();
      for (const c of chunks) vectors.push((await embedder.embedDocuments([c.text]))[0]!);
      modelMs += performance.now() - m;
      const stored = chunks.map(({ text: _, ...chunk }) => chunk);
      naiveStore.putFile(f.path, { mtimeMs: f.mtimeMs, size: f.size }, stored, vectors, chunks.map((c) => c.text));
      done += chunks.length;
    }
    await naiveStore.flush();
    const naiveMs = performance.now() - t;
    const naiveRate = done / (naiveMs / 1000);
    await rm(naiveDir, { recursive: true, force: true });
    o.log(`naive: ${done} chunks at ${naiveRate.toFixed(0)} chunks/s, ${((100 * modelMs) / naiveMs).toFixed(0)}% of it in the model`);
    const e2eRate = e2e.embedded / e2e.totalS;
    const capCores = o.threads + 1;
    const cores = Math.min(capCores, os.availableParallelism());
    const sharedS = (naiveMs - modelMs) / 1000 / done;
    const bestE2e = (cores * e2e.embedded) / (e2e.chunks * sharedS + e2e.embedded / gain.idsRate);

    return {
      commit: sourceCommit(),
      corpus: { root: o.root, files: e2e.files, chunks: e2e.chunks },
      model: embedder.info.id,
      threads: o.threads,
      raw_chunks_per_s: round(rawRate),
      e2e_chunks_per_s: round(e2eRate),
      naive_chunks_per_s: round(naiveRate),
      naive_sample_chunks: done,
      e2e_over_raw: round(e2eRate / rawRate),
      e2e_over_naive: round(e2eRate / naiveRate),
      model_one_chunk_per_s: round(gain.oneRate),
      batching_gain: round(gain.gain),
      model_from_ids_per_s: round(gain.idsRate),
      naive_shared_us_per_chunk: round(sharedS * 1e6),
      naive_model_us_per_chunk: round((modelMs * 1000) / done),
      naive_ratio_bound: round(bestE2e / naiveRate),
      raw_ratio_bound: round(bestE2e / rawRate),
      first_result_s: round(e2e.firstResultS),
      total_s: round(e2e.totalS),
      worker_rss_mb: round(e2e.workerRssMb),
      worker_idle_mb: e2e.idle,
      host_rss_delta_mb: round(e2e.hostRssDeltaMb),
      max_event_loop_delay_ms: round(e2e.maxDelayMs),
      p99_event_loop_delay_ms: round(e2e.p99DelayMs),
      cpu_percent: round(e2e.cpuPercent),
      // Inference threads plus the thread that reads and parses the next batch.
      cpu_cap_percent: capCores * 100,
    };
  } finally {
    chunker.dispose();
    await embedder.dispose();
  }
}

/** How long the worker sits idle after the run before its memory is read: past the parsing thread's stop. */
const IDLE_SETTLE_MS = PARSE_THREAD_IDLE_MS + 2000;

/** Seconds of one-chunk-per-call inference the batching gain is measured over (or the whole corpus, if less). */
const GAIN_SAMPLE_S = 5;
/** Texts, spread over the corpus, timed one per call to size the sample. */
const GAIN_PROBE = 64;
/** Timed passes of each kind, alternating, for medians: the machine's speed drifts within seconds. */
const GAIN_ROUNDS = 3;

/**
 * One chunk per call against batches, on one sample spread evenly over the corpus (so that it has
 * its mix of languages and lengths), sized from a probe to take about GAIN_SAMPLE_S seconds one
 * chunk per call. An untimed pass over it warms the tokenizer's word cache alike for the timed
 * passes. Then batches from token ids, as the pipeline hands them to the model.
 */
async function batchingGain(embedder: TransformersEmbedder, texts: string[], idsOf: ReadonlyMap<string, Int32Array | undefined>) {
  const spread = (n: number) => {
    const k = Math.min(n, texts.length);
    return Array.from({ length: k }, (_, i) => texts[Math.floor((i * texts.length) / k)]!);
  };
  const probe = spread(GAIN_PROBE);
  const started = performance.now();
  for (const t of probe) await embedder.embedDocuments([t]);
  const perText = (performance.now() - started) / 1000 / probe.length;
  const sample = spread(Math.max(GAIN_PROBE, Math.round(GAIN_SAMPLE_S / perText)));
  for (const t of sample) await embedder.embedDocuments([t]);
  const sampleIds = sample.map((t) => idsOf.get(t));
  const rate = async (size: number, withIds = false) => {
    const t = performance.now();
    for (let i = 0; i < sample.length; i += size) await embedder.embedDocuments(sample.slice(i, i + size), withIds ? sampleIds.slice(i, i + size) : undefined);
    return sample.length / ((performance.now() - t) / 1000);
  };
  const batched: number[] = [];
  const one: number[] = [];
  const fromIds: number[] = [];
  for (let r = 0; r < GAIN_ROUNDS; r++) {
    batched.push(await rate(256));
    one.push(await rate(1));
    fromIds.push(await rate(256, true));
  }
  const oneRate = median(one);
  return { oneRate, gain: median(batched) / oneRate, idsRate: median(fromIds), sample: sample.length };
}

async function measurePipeline(o: IndexBenchOptions) {
  const indexDir = await mkdtemp(path.join(os.tmpdir(), 'nearby-bench-index-'));
  const config: WorkerConfig = { bundledModelsDir: o.bundledModelsDir, modelCacheDir: o.modelCacheDir, threads: o.threads, model: o.model.dir, roots: [{ root: o.root, indexDir }] };
  const client = new WorkerClient({ workerPath: o.workerPath, execArgv: o.execArgv, config });
  try {
    await client.start();
    const pid = client.pid!;
    const hostRssBefore = process.memoryUsage().rss;
    let hostRssPeak = hostRssBefore;
    const delay = monitorEventLoopDelay({ resolution: 10 });
    delay.enable();
    const cpuBefore = cpuSeconds(pid);
    const started = performance.now();
    let firstResultS = Number.NaN;
    let finished = false;
    const probe = (async () => {
      // Polls as a user typing in the panel would, until the first hit comes back.
      while (!finished && Number.isNaN(firstResultS)) {
        const { hits } = await client.request('search', { query: 'parse the configuration file', k: 1 });
        if (hits.length > 0) firstResultS = (performance.now() - started) / 1000;
        else await new Promise((r) => setTimeout(r, 100));
      }
    })();
    const sampler = setInterval(() => (hostRssPeak = Math.max(hostRssPeak, process.memoryUsage().rss)), 200);
    const results = await client.request('index', {});
    const totalS = (performance.now() - started) / 1000;
    const cpuPercent = ((cpuSeconds(pid) - cpuBefore) / totalS) * 100;
    const workerRssMb = peakRssMb(pid);
    finished = true;
    await probe;
    clearInterval(sampler);
    delay.disable();
    const summary = Object.values(results)[0]!;
    // Idle as a user's worker is between edits.
    await new Promise((r) => setTimeout(r, IDLE_SETTLE_MS));
    const status = await client.request('status', {});
    const store = status.roots[0]!.memory;
    const idle = {
      rss: mb(status.worker.rss),
      heap_used: mb(status.worker.heapUsed),
      array_buffers: mb(status.worker.arrayBuffers),
      vector_table: mb(store.vectorTableBytes),
      keyword_index: mb(store.keywordIndexBytes),
      keyword_vocabulary_estimate: mb(store.keywordVocabularyBytesEstimate),
    };
    return {
      idle,
      files: summary.filesIndexed,
      chunks: summary.chunksTotal,
      embedded: summary.chunksNew + summary.chunksChanged,
      totalS,
      firstResultS,
      cpuPercent,
      workerRssMb,
      hostRssDeltaMb: (hostRssPeak - hostRssBefore) / 2 ** 20,
      maxDelayMs: delay.max / 1e6,
      p99DelayMs: delay.percentile(99) / 1e6,
    };
  } finally {
    await client.dispose();
    await rm(indexDir, { recursive: true, force: true });
  }
}

/** User + system CPU seconds of a process (Linux /proc). */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

function mb(bytes: number): number {
  return round(bytes / 2 ** 20);
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}

