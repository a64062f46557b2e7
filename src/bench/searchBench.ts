import { WorkerClient } from '../worker/client';
import type { WorkerConfig } from '../worker/protocol';
import type { SearchMode } from '../core/search/hybrid';
import { peakRssMb, sourceCommit } from './report';

/**
 * Search latency as a user meets it: a warm worker (the panel's, or the CLI's worker once it has
 * opened the index) answering the requests the panel sends, with previews, on a large index.
 */
export interface SearchBenchReport {
  commit: string | null;
  root: string;
  model: string;
  chunks: number;
  files: number;
  /** Opening the index in a fresh worker until its first answer (vectors and keywords). */
  open_s: number;
  queries: number;
  /** Per search mode, and `similar`: Find Similar on each query's best hybrid hit. */
  by_mode: Record<string, { p50_ms: number; p95_ms: number; max_ms: number }>;
  /** The searching worker's peak resident memory. */
  worker_rss_mb: number;
}

// Questions people ask of a JavaScript/TypeScript tree (the default corpus is node_modules), and a few names.
const QUERIES = [
  'parse command line arguments into options', 'retry a failed http request with backoff', 'convert a string to camel case',
  'read a file line by line', 'check whether an email address is valid', 'debounce a function call', 'deep clone an object',
  'compare two semantic version strings', 'escape html special characters', 'compute the sha256 hash of a buffer',
  'format a date as an iso string', 'merge two objects recursively', 'decode base64 into bytes', 'find the longest common prefix',
  'split an array into chunks of a given size', 'walk a directory tree recursively', 'parse a url query string',
  'load the tokenizer configuration from json', 'cancel a pending timer when the request is aborted', 'how are errors reported to the caller',
  'where do we set the content type header', 'stream a large response without buffering it', 'cache results of an expensive call',
  'validate a json schema', 'pretty print a table in the terminal', 'createHash', 'EventEmitter', 'JSON.parse', 'utf8 decoder', 'inference session',
];

export async function runSearchBench(o: { root: string; indexDir: string; workerPath: string; execArgv: string[]; config: Omit<WorkerConfig, 'roots'>; rounds: number; log: (line: string) => void }): Promise<SearchBenchReport> {
  const config: WorkerConfig = { ...o.config, roots: [{ root: o.root, indexDir: o.indexDir }] };
  const indexer = new WorkerClient({ workerPath: o.workerPath, execArgv: o.execArgv, config });
  try {
    o.log('bringing the index up to date');
    await indexer.request('index', {});
  } finally {
    await indexer.dispose();
  }
  // A fresh worker, as a new window or a CLI process would start: opening is part of what users wait for.
  const client = new WorkerClient({ workerPath: o.workerPath, execArgv: o.execArgv, config });
  try {
    const t0 = performance.now();
    const model = await client.start();
    await client.request('search', { query: 'warm up', k: 20, previewLines: 12 });
    const openS = (performance.now() - t0) / 1000;
    const status = await client.request('status', {});
    const byMode: SearchBenchReport['by_mode'] = {};
    // Find Similar on each query's best hit, as the editor command asks (twenty hits with previews).
    const selections: { path: string; start: number; end: number }[] = [];
    for (const mode of ['hybrid', 'vector', 'lexical', 'similar'] as const) {
      const times: number[] = [];
      for (let round = 0; round < o.rounds; round++) {
        for (const [i, query] of QUERIES.entries()) {
          const t = performance.now();
          if (mode === 'similar') {
            const selection = selections[i];
            if (!selection) continue;
            await client.request('similar', { root: o.root, ...selection, k: 20, previewLines: 12 });
          } else {
            // What the panel asks for: twenty hits with previews.
            const { hits } = await client.request('search', { query, k: 20, previewLines: 12, mode: mode as SearchMode });
            if (mode === 'hybrid' && round === 0 && hits[0]) selections[i] = { path: hits[0].path, start: hits[0].startLine, end: hits[0].endLine };
          }
          times.push(performance.now() - t);
        }
      }
      times.sort((a, b) => a - b);
      const at = (q: number) => Math.round(times[Math.min(times.length - 1, Math.floor(q * times.length))]! * 10) / 10;
      byMode[mode] = { p50_ms: at(0.5), p95_ms: at(0.95), max_ms: at(1) };
      o.log(`${mode}: p50 ${byMode[mode]!.p50_ms} ms, p95 ${byMode[mode]!.p95_ms} ms over ${times.length} ${mode === 'similar' ? 'Find Similar requests' : 'searches'}`);
    }
    return {
      commit: sourceCommit(),
      root: o.root,
      model: model.id,
      chunks: status.roots[0]!.chunks,
      files: status.roots[0]!.files,
      open_s: Math.round(openS * 100) / 100,
      queries: QUERIES.length * o.rounds,
      by_mode: byMode,
      worker_rss_mb: Math.round(peakRssMb(client.pid!)),
    };
  } finally {
    await client.dispose();
  }
}
