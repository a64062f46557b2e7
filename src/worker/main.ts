/**
 * The indexing worker: a child process that owns the model, the chunker and the indexes, so the
 * host's event loop only forwards messages. It lowers its own scheduling priority and caps its
 * inference threads so the editor stays responsive while it works.
 */
import * as path from 'node:path';
import * as os from 'node:os';
import { DupeService } from '../core/dupes/service';
import { Engine } from '../core/engine';
import { ModelError } from '../core/embed/modelInfo';
import { PauseGate } from '../core/index/pauseGate';
import { grewLarge } from '../core/index/indexer';
import type { IndexSummary } from '../core/index/progress';
import { isHostMessage, type HostMessage, type ModelSummary, type Requests, type WorkerErrorCode, type WorkerMessage } from './protocol';

let engine: Engine | undefined;
let modelSummary: ModelSummary | undefined;
let dupes: DupeService | undefined;
let indexing: AbortController | undefined;
let indexQueue: Promise<unknown> = Promise.resolve();
const gate = new PauseGate();
/** Indexing progress reaches the host at most this often. */
const PROGRESS_EVERY_MS = 100;

function send(message: WorkerMessage): void {
  process.send?.(message);
}

function log(level: 'info' | 'warn' | 'error', message: string): void {
  send({ type: 'log', level, message });
}

try {
  os.setPriority(process.pid, 10);
} catch (err) {
  log('warn', `could not lower the worker's priority: ${(err as Error).message}`);
}

type Handler<K extends keyof Requests> = (m: Extract<HostMessage, { type: K }>) => Promise<Requests[K]['result']>;

const handlers: { [K in keyof Requests]: Handler<K> } = {
  async init({ config }) {
    await engine?.dispose();
    engine = undefined;
    dupes = undefined;
    engine = await Engine.open({
      ...(config.model !== undefined ? { model: config.model } : {}),
      bundledModelsDir: config.bundledModelsDir,
      modelCacheDir: config.modelCacheDir,
      threads: config.threads,
      roots: config.roots.map((r) => ({
        root: r.root,
        indexDir: r.indexDir,
        scan: {
          ...(r.include ? { include: r.include } : {}),
          ...(r.exclude ? { exclude: r.exclude } : {}),
          ...(r.maxFileBytes !== undefined ? { maxFileBytes: r.maxFileBytes } : {}),
        },
      })),
      onDownload: (p) => send({ type: 'download', ...p }),
      parseThreadEntry: __filename.endsWith('.ts') ? path.join(__dirname, '..', 'core', 'index', 'parseThread.ts') : path.join(__dirname, 'parseThread.js'),
    });
    if (engine.parseThreadError) log('warn', `parsing on the indexing thread instead of its own: ${engine.parseThreadError}`);
    const info = engine.embedder.info;
    modelSummary = { id: info.id, dimension: info.dimension, maxTokens: info.maxTokens, source: engine.model.source, dir: engine.model.dir };
    return modelSummary;
  },

  index(m) {
    const run = async (): Promise<Record<string, IndexSummary>> => {
      const e = requireEngine();
      const controller = new AbortController();
      indexing = controller;
      const results: Record<string, IndexSummary> = {};
      try {
        for (const [root, index] of e.roots) {
          if (m.roots && !m.roots.includes(root)) continue;
          const only = m.onlyPaths?.[root];
          if (m.onlyPaths && !only) continue;
          let progressSentAt = 0;
          results[root] = await index.index({
            signal: controller.signal,
            gate,
            onProgress: (progress) => {
              // A batch lands every few milliseconds with a fast model: the host needs a few updates a second, not each.
              const now = Date.now();
              if (progress.phase === 'indexing' && now - progressSentAt < PROGRESS_EVERY_MS) return;
              progressSentAt = now;
              send({ type: 'progress', root, progress });
            },
            ...(only ? { onlyPaths: only } : {}),
            ...(m.priority?.[root] ? { priority: new Set(m.priority[root]) } : {}),
          });
          if (controller.signal.aborted) break;
        }
      } finally {
        if (indexing === controller) indexing = undefined;
      }
      // After a large run the buffers the indexes outgrew are garbage, and an idle process does
      // not collect: without this the worker held them until the next burst of work.
      if (Object.values(results).some(grewLarge)) setTimeout(() => globalThis.gc?.(), 0);
      return results;
    };
    // Index runs never overlap: each waits for the previous one, whatever its outcome.
    const next = indexQueue.then(run, run);
    indexQueue = next.catch(() => undefined);
    return next;
  },

  async search(m) {
    const options = { k: m.k ?? 10, previewLines: m.previewLines ?? 0, ...(m.filter ? { filter: m.filter } : {}), ...(m.mode ? { mode: m.mode } : {}), ...(m.include ? { include: m.include } : {}) };
    return requireEngine().search(m.query, options);
  },

  async similar(m) {
    const options = { k: m.k ?? 10, previewLines: m.previewLines ?? 0, ...(m.filter ? { filter: m.filter } : {}), ...(m.text !== undefined ? { text: m.text } : {}) };
    return requireEngine().similar(m.root, m.path, m.start, m.end, options);
  },

  async status() {
    const roots = engine ? [...engine.roots.values()].map((r) => r.status()) : [];
    const { rss, heapUsed, external, arrayBuffers } = process.memoryUsage();
    return { ...(modelSummary ? { model: modelSummary } : {}), roots, indexing: indexing !== undefined, paused: gate.paused, worker: { rss, heapUsed, external, arrayBuffers } };
  },

  async dupes(m) {
    const e = requireEngine();
    const targets = m.root !== undefined ? [e.roots.get(m.root)] : [...e.roots.values()];
    if (targets.some((t) => t === undefined)) throw new Error(`${m.root} is not an indexed folder.`);
    dupes ??= new DupeService(e.embedder.info);
    const service = dupes;
    const overrides = { minLines: m.minLines, minTokens: m.minTokens, threshold: m.threshold, kinds: m.kinds };
    return Promise.all(targets.map((t) => service.find(t!, overrides, m.limit, undefined, m.roles)));
  },

  async map(m) {
    // Slices of the layout give way to searches and index updates that arrive meanwhile.
    return requireEngine().map({ ...(m.maxPoints !== undefined ? { maxPoints: m.maxPoints } : {}), yieldEvery: () => new Promise((resolve) => setImmediate(resolve)) });
  },
};

class NotReadyError extends Error {}

function requireEngine(): Engine {
  if (!engine) throw new NotReadyError('The worker has no model loaded yet (send "init" first).');
  return engine;
}

function errorCode(err: unknown): WorkerErrorCode {
  if (err instanceof ModelError) return err.code;
  if (err instanceof NotReadyError) return 'not-ready';
  return 'failed';
}

async function dispatch(message: HostMessage): Promise<void> {
  switch (message.type) {
    case 'cancel':
      indexing?.abort();
      gate.resume();
      return;
    case 'pause':
      gate.pause();
      return;
    case 'resume':
      gate.resume();
      return;
    case 'shutdown':
      indexing?.abort();
      gate.resume();
      await indexQueue;
      await engine?.dispose();
      process.exit(0);
  }
  const handler = handlers[message.type] as (m: HostMessage) => Promise<unknown>;
  try {
    send({ type: 'result', id: message.id, result: await handler(message) });
  } catch (err) {
    send({ type: 'error', id: message.id, code: errorCode(err), message: (err as Error).message ?? String(err) });
  }
}

process.on('message', (raw: unknown) => {
  if (!isHostMessage(raw)) {
    const id = (raw as { id?: unknown } | null)?.id;
    log('warn', `dropped a malformed message: ${JSON.stringify(raw)?.slice(0, 200)}`);
    if (Number.isInteger(id)) send({ type: 'error', id: id as number, code: 'bad-request', message: 'malformed request' });
    return;
  }
  void dispatch(raw);
});

// The host going away (editor closed, CLI killed) must not leave an orphan burning CPU.
process.on('disconnect', () => {
  indexing?.abort();
  gate.resume();
  void indexQueue.finally(() => process.exit(0));
});
