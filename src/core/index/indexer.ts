import type { Embedder } from '../embed/embedder';
import { FILE_ROLES, type FileRole } from '../scan/fileRole';
import { DEFAULT_MAX_FILE_BYTES, scanFiles, scanPaths, type ScanOptions, type ScannedFile } from '../scan/scanner';
import { SKIP_REASON_TEXT } from '../scan/skipReasons';
import type { IndexStore } from '../store/indexStore';
import type { StoredChunk } from '../store/records';
import type { Chunk, TokenCounter } from '../types';
import type { FileTerms } from '../search/codeTokens';
import { InlineParser, ThreadStartError, type FileParser, type ParsedFile } from './fileParser';
import { PauseGate } from './pauseGate';
import { planIndex } from './plan';
import type { IndexProgress, IndexSummary } from './progress';

export interface FileChunker {
  chunkFile(path: string, text: string, options: { maxTokens: number; tokens: TokenCounter }): Promise<Chunk[]>;
}

export interface IndexerParts {
  root: string;
  store: IndexStore;
  embedder: Embedder;
  chunker: FileChunker;
  scan?: ScanOptions;
  /** Reads and chunks files, e.g. on a thread of its own; default: inline with `chunker`. */
  parser?: FileParser;
}

export interface IndexRunOptions {
  signal?: AbortSignal;
  gate?: PauseGate;
  onProgress?: (p: IndexProgress) => void;
  /** Paths read first (open editors, recent edits). */
  priority?: ReadonlySet<string>;
  /** Only these paths are considered (a save or a rename); the rest of the index is left alone. */
  onlyPaths?: readonly string[];
  /** Texts per embedding call. */
  batchSize?: number;
  /** Files handed to a parsing thread (`IndexerParts.parser`) ahead of the one being stored. Default 256. */
  parseAhead?: number;
  /**
   * Completed files are committed to disk this often (stretched to ten times the last write on
   * large indexes), so a killed run loses little.
   */
  commitEveryMs?: number;
}

/** A file handed out to be parsed, in its place in the plan. */
interface ParseSlot {
  parsed: Promise<ParsedFile>;
  /** Set once parsed. */
  result?: ParsedFile;
  settled: boolean;
  /** Parsed on the indexing thread, not by the parser. */
  stolen: boolean;
  /** The indexing thread has taken it in its turn. */
  taken: boolean;
  /** Its texts were queued before its turn (see `embedAhead`). */
  queuedAhead: boolean;
}

interface PendingFile {
  file: ScannedFile;
  chunks: Chunk[];
  terms: FileTerms;
}

const MAX_WARNINGS = 200;
/** A run that stored this many chunks gives back the room the indexes grew for. */
const TRIM_AFTER_CHUNKS = 10_000;

/** A run large enough that the indexes have grown room they will not soon use (see `TRIM_AFTER_CHUNKS`). */
export function grewLarge(summary: Pick<IndexSummary, 'chunksNew' | 'chunksChanged'>): boolean {
  return summary.chunksNew + summary.chunksChanged >= TRIM_AFTER_CHUNKS;
}
/** One with each model, and one more formed while they work. */
const MAX_BATCHES_IN_FLIGHT = 3;
/** Runs of at most this many files do not start a stopped parsing thread. */
const SMALL_RUN_FILES = 16;
/** The share of the time this thread's model must be at work for the parser's model to help... */
const MODEL_BOUND_SHARE = 0.75;
/** ...judged once the run has embedded for this long. */
const MODEL_SHARE_AFTER_MS = 1_000;
/** Files up to this size may be parsed on the indexing thread when the parsing thread falls behind. */
export const MAX_STOLEN_BYTES = 16 * 1024;

/**
 * One index run: scan, plan from metadata, then read → chunk → embed only texts the index has never
 * seen → store, committing whole files as they complete.
 */
export async function runIndex(parts: IndexerParts, options: IndexRunOptions = {}): Promise<IndexSummary> {
  const started = Date.now();
  const { store, embedder, chunker } = parts;
  const maxBytes = parts.scan?.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
  const batchSize = options.batchSize ?? 64;
  const commitEveryMs = options.commitEveryMs ?? 2_000;
  const gate = options.gate ?? new PauseGate();
  const summary: IndexSummary = {
    filesScanned: 0, filesSkipped: {}, filesUnchanged: 0, filesIndexed: 0, filesRemoved: 0,
    chunksNew: 0, chunksChanged: 0, chunksRemoved: 0, chunksReused: 0, chunksTotal: 0,
    seconds: 0, cancelled: false, warnings: [],
  };

  options.onProgress?.({ phase: 'scanning', filesDone: 0, filesTotal: 0, chunksEmbedded: 0 });
  const scanOptions = { ...parts.scan, ...(options.signal ? { signal: options.signal } : {}) };
  const only = options.onlyPaths ? new Set(options.onlyPaths) : undefined;
  const scanned = only ? await scanPaths(parts.root, [...only], scanOptions) : await scanFiles(parts.root, scanOptions);
  const files = scanned.files;
  // A file whose keyword entries could not be filled in is read again, as if it had changed.
  const indexedView = {
    paths: only ? () => [...store.paths()].filter((p) => only.has(p)) : () => store.paths(),
    fileState: (p: string) => (store.keywordGaps.has(p) ? undefined : store.fileState(p)),
  };
  const plan = planIndex(files, indexedView, options.priority);
  summary.filesScanned = scanned.files.length;
  summary.filesUnchanged = plan.unchanged;
  for (const s of scanned.skipped.samples) summary.warnings.push(`${s.path}: skipped, ${SKIP_REASON_TEXT[s.reason]}${s.detail ? ` (${s.detail})` : ''}`);
  const skipped = scanned.skipped;

  for (const p of plan.remove) {
    summary.chunksRemoved += store.chunksOf(p).length;
    store.removeFile(p);
    summary.filesRemoved++;
  }

  // Files whose chunks are all known or queued, waiting for the batch they are in to be embedded.
  let pending: PendingFile[] = [];
  let queued = new Map<string, Chunk>(); // by hash, waiting to be embedded
  // Reading and parsing the next batch overlaps with the model embedding this one. Each model
  // embeds one batch at a time: this thread's, and the parser's when it has one
  // (`FileParser.embed`) and parsing is far ahead. Batches land in the order they were formed,
  // so files are committed in order; a few at most are embedding or waiting to land, which
  // bounds memory (back-pressure).
  const landing: Promise<void>[] = []; // oldest first
  // A small run (a save or two) after the parsing thread stopped for want of work is parsed here:
  // starting the thread again takes longer (about half a second) than parsing a few files.
  const threaded = parts.parser?.stopped && plan.read.length <= SMALL_RUN_FILES ? undefined : parts.parser;
  const helper = threaded?.embed ? threaded : undefined;
  const busy = { local: false, helper: false };
  let laneFreed: () => void = () => undefined;
  let helperFailed = false;
  let usedHelper = false;
  // Texts handed to a model, by hash: undefined while with it, then its vector, until a file that
  // holds it is stored (a file's chunks may span batches, so it may land after its first ones).
  const dispatched = new Map<string, Float32Array | undefined>();
  let embeddedThisRun = 0;
  let lastCommit = Date.now();
  let commitInterval = commitEveryMs;
  // A commit runs beside the pipeline: its shards are encoded one at a time and its disk syncs
  // are waited for off this thread, so the model and the parsing thread never stop for it.
  let committing: Promise<void> | undefined;
  let commitFailure: unknown;
  const commitInBackground = () => {
    // Once every file is parsed the final write is close: a commit now would encode the same shards again.
    if (committing || parsingDone() || Date.now() - lastCommit < commitInterval) return;
    const t0 = Date.now();
    committing = store
      .flush()
      .then(
        () => {
          lastCommit = Date.now();
          // A large index takes longer to write: space commits so writing stays a small share of the run.
          commitInterval = Math.max(commitEveryMs, 10 * (lastCommit - t0));
        },
        (err: unknown) => {
          commitFailure ??= err;
        },
      )
      .finally(() => (committing = undefined));
  };
  let filesDone = 0;
  const report = () => {
    const elapsed = (Date.now() - started) / 1000;
    const rate = filesDone / Math.max(elapsed, 1e-3);
    const progress: IndexProgress = { phase: 'indexing', filesDone, filesTotal: plan.read.length, chunksEmbedded: embeddedThisRun };
    if (filesDone > 0 && elapsed > 1) progress.etaSeconds = Math.round((plan.read.length - filesDone) / rate);
    options.onProgress?.(progress);
  };

  const embedTexts = async (chunks: Chunk[], onHelper: boolean): Promise<Float32Array[]> => {
    if (chunks.length === 0) return [];
    const texts = chunks.map((c) => c.text);
    const ids = chunks.map((c) => c.tokenIds);
    if (!onHelper) return embedder.embedDocuments(texts, ids);
    try {
      return await helper!.embed!(texts, ids);
    } catch (err) {
      // The batch is embedded here instead, and the parser's model is not asked again this run.
      helperFailed = true;
      summary.warnings.push(`embedding on the parsing thread failed, so this thread embeds alone: ${(err as Error).message}`);
      return embedder.embedDocuments(texts, ids);
    }
  };

  // How long this thread's model has been at work since the first batch: a model busy most of
  // the time is what holds the run back (with a fast model, it is parsing and storing).
  let firstBatchAt: number | undefined;
  let localModelMs = 0;
  const modelBound = () => {
    const elapsed = firstBatchAt === undefined ? 0 : Date.now() - firstBatchAt;
    return elapsed >= MODEL_SHARE_AFTER_MS && localModelMs >= MODEL_BOUND_SHARE * elapsed;
  };
  /**
   * The parser's model takes a batch when it is free, this thread's model is the bottleneck, and
   * the parsing thread would otherwise sit idle: every file is parsed, or parsing is far ahead
   * (half its window, or all that is left of it, waits parsed). With a fast model a copy only
   * weighs: on node_modules it added about 90 MB to the worker's peak and no speed.
   */
  const helperWanted = () =>
    helper !== undefined && !busy.helper && !helperFailed && modelBound() &&
    (parsingDone() || settledAhead >= Math.max(1, Math.min(lookahead / 2, ahead.length)));

  /** Hands the current batch to a free model, to land after the batches before it. */
  const dispatch = async () => {
    const files = pending;
    const texts = queued;
    pending = [];
    queued = new Map();
    for (const h of texts.keys()) dispatched.set(h, undefined);
    let onHelper = false;
    for (;;) {
      if (commitFailure !== undefined) throw commitFailure;
      onHelper = texts.size > 0 && helperWanted();
      if (landing.length < MAX_BATCHES_IN_FLIGHT && (onHelper || !busy.local)) break;
      await new Promise<void>((resolve) => (laneFreed = resolve));
    }
    const lane = onHelper ? 'helper' : 'local';
    busy[lane] = true;
    usedHelper ||= onHelper;
    const hashes = [...texts.keys()];
    const startedAt = Date.now();
    firstBatchAt ??= startedAt;
    const vectors = embedTexts(hashes.map((h) => texts.get(h)!), onHelper);
    const freed = () => {
      busy[lane] = false;
      if (lane === 'local') localModelMs += Date.now() - startedAt;
      laneFreed();
    };
    vectors.then(freed, freed);
    const batch = (landing.at(-1) ?? Promise.resolve()).then(async () => {
      const fresh = await vectors;
      embeddedThisRun += hashes.length;
      hashes.forEach((h, i) => dispatched.set(h, fresh[i]!));
      commitPending(files);
      commitInBackground();
      report();
    });
    landing.push(batch);
    // Batches land (or fail) in order, so the one leaving is always the oldest. Until awaited,
    // a failure must not count as unhandled.
    batch.finally(() => {
      landing.shift();
      laneFreed();
    }).catch(() => undefined);
  };
  /** Settles once every batch handed out has landed; rejects with the first failure. */
  const allLanded = () => landing.at(-1) ?? Promise.resolve();

  const commitPending = (files: PendingFile[]) => {
    for (const { file, chunks, terms } of files) {
      const oldHashes = countHashes(store.chunksOf(file.path));
      const vectors = chunks.map((c) => store.vectorFor(c.hash) ?? dispatched.get(c.hash)!);
      for (const c of chunks) {
        const left = oldHashes.get(c.hash) ?? 0;
        if (left > 0) oldHashes.set(c.hash, left - 1);
      }
      for (const n of oldHashes.values()) summary.chunksRemoved += n;
      const stored = chunks.map((c) => toStored(c, file.role, file.path));
      store.putFile(file.path, { mtimeMs: file.mtimeMs, size: file.size }, stored, vectors, terms);
      for (const c of chunks) dispatched.delete(c.hash);
      summary.filesIndexed++;
    }
  };

  const inline = new InlineParser(chunker, embedder, { maxTokens: embedder.info.maxTokens });
  const parser: FileParser = threaded ?? inline;
  const parserFailuresBefore = parser.failures?.length ?? 0;
  // A parsing thread works ahead of the model; parsing inline gains nothing from reading ahead.
  // Far enough ahead to keep the thread busy through whatever holds this thread up (a model call,
  // one shard of a commit, a stolen file: about 300 files a second parse there), short enough
  // that little is left to it alone at the end.
  const lookahead = threaded ? (options.parseAhead ?? 256) : 1;
  const ahead: ParseSlot[] = [];
  let settledAhead = 0; // files in `ahead` parsed already
  let nextToParse = 0;
  let withParser = 0; // files in `ahead` that `parser` has (stolen ones do not count against its window)
  let finished = false; // no more files handed out once the run has ended, however it ended
  /** Every file has been handed out and parsed; some may still wait to be taken. */
  const parsingDone = () => nextToParse >= plan.read.length && settledAhead === ahead.length;
  /**
   * This thread parses files itself only beside a single parsing thread. Beside a pool, parsing
   * is the cheap resource and this thread (model, storing) the scarce one: it waits instead.
   */
  const steals = (parser.lanes ?? 1) <= 1;
  let settleWaiter: (() => void) | undefined;
  let parserLost: string | undefined;
  /** A file the parser could not take (its thread would not start) is parsed here instead. */
  const parse = (using: FileParser, f: ScannedFile) =>
    using.parse(f.absPath, f.path, maxBytes).catch((err: unknown) => {
      if (!(err instanceof ThreadStartError) || using === inline) throw err;
      parserLost ??= err.message;
      return inline.parse(f.absPath, f.path, maxBytes);
    });
  const enqueue = (using: FileParser) => {
    const f = plan.read[nextToParse++]!;
    const slot: ParseSlot = { parsed: parse(using, f), settled: false, stolen: using !== parser, taken: false, queuedAhead: false };
    if (!slot.stolen) withParser++;
    const settle = () => {
      slot.settled = true;
      if (!slot.taken) settledAhead++;
      // Topped up as soon as it finishes a file, not only when this thread takes the next one.
      if (!slot.stolen) parseAhead();
      const waiting = settleWaiter;
      settleWaiter = undefined;
      waiting?.();
    };
    slot.parsed.then((result) => {
      slot.result = result;
      settle();
    }, settle); // a failure surfaces when its turn comes
    ahead.push(slot);
    return slot;
  };
  /**
   * Whether the parsing thread may take another file: fewer than `window` are with it, and fewer
   * than are left to hand out, so that near the end it does not hold a long queue while this
   * thread, with nothing left to steal, waits for it.
   */
  const parserHasRoom = (window: number) => withParser < Math.min(window, plan.read.length - nextToParse);
  function parseAhead(): void {
    while (!finished && nextToParse < plan.read.length && parserHasRoom(lookahead)) enqueue(parser);
  }
  /** A text that has its vector, or is on its way to one. */
  const known = (hash: string) => store.vectorFor(hash) !== undefined || queued.has(hash) || dispatched.has(hash);
  /**
   * Queues a new text, handing the batch to a model first if it is full: a file with many chunks
   * is spread over batches (for both models to share) and lands with its last.
   */
  const queueText = async (c: Chunk) => {
    if (queued.size >= batchSize) await dispatch();
    queued.set(c.hash, c);
  };
  // Texts queued by `embedAhead` that no file taken since holds: the first file that does counts them.
  const queuedAhead = new Set<string>();
  /**
   * While the next file is still being parsed, queues the new texts of the first parsed file
   * after it, so that this thread's model works on them now instead of after parsing has ended
   * (a profile showed the last quarter of a run's texts embedded alone, the parsing thread idle).
   * Its file still lands in its turn. False when no such file waits.
   */
  const embedAhead = async (): Promise<boolean> => {
    const slot = ahead.find((s, i) => i > 0 && s.settled && !s.queuedAhead && s.result?.ok);
    if (!slot?.result?.ok) return false;
    slot.queuedAhead = true;
    for (const c of slot.result.chunks) {
      if (known(c.hash)) continue;
      await queueText(c);
      queuedAhead.add(c.hash);
    }
    if (queued.size >= batchSize) await dispatch();
    return true;
  };
  /**
   * Work stealing: while the next file is still with the parsing thread and no parsed file after
   * it has texts to embed, this thread (idle, as the model runs synchronously here) parses files
   * from the far end of the window itself. Their results wait in their places, so files still
   * land in order. With a fast model this thread would otherwise wait for parsing a third of the
   * time; with a slow one it never gets here. Large files stay with the thread (one would hold up
   * the model and the thread's supply), up to twice its window: handed every one, it ended runs
   * on a queue of them while this thread, with nothing left to steal, waited (a second and more,
   * measured).
   *
   * Before each steal the event loop turns once: a stolen parse resolves in microtasks only, so
   * without it the thread's replies would queue unread while this thread stole file after file,
   * and the thread, its window full, would sit idle (a quarter of the run, measured).
   */
  const nextParsed = async () => {
    if (threaded) {
      for (;;) {
        if (!ahead[0]!.settled) await new Promise<void>((resolve) => setImmediate(resolve));
        if (ahead[0]!.settled) break;
        if (await embedAhead()) continue;
        if (nextToParse >= plan.read.length) break;
        if (!steals) {
          if (!ahead[0]!.settled) await new Promise<void>((resolve) => (settleWaiter = resolve));
          continue;
        }
        if (plan.read[nextToParse]!.size > MAX_STOLEN_BYTES && parserHasRoom(2 * lookahead)) enqueue(parser);
        else await enqueue(inline).parsed.catch(() => undefined);
      }
    }
    const slot = ahead.shift()!;
    slot.taken = true;
    if (slot.settled) settledAhead--;
    if (!slot.stolen) withParser--;
    return slot.parsed;
  };

  // This run commits on its own schedule; the store's background writes would rewrite the same shards in between.
  const resumeWrites = store.deferWrites();
  try {
    for (const file of plan.read) {
      if (gate.paused) {
        await dispatch();
        await allLanded();
        await store.flush();
        await gate.whenOpen();
      }
      options.signal?.throwIfAborted();
      parseAhead();
      const read = await nextParsed();
      filesDone++;
      if (!read.ok) {
        skipped.add({ path: file.path, reason: read.reason, detail: read.detail });
        if (summary.warnings.length < MAX_WARNINGS) summary.warnings.push(`${file.path}: skipped, ${SKIP_REASON_TEXT[read.reason]} (${read.detail})`);
        if (store.fileState(file.path)) {
          summary.chunksRemoved += store.chunksOf(file.path).length;
          store.removeFile(file.path);
        }
        continue;
      }
      const { chunks, terms } = read;
      const existed = store.fileState(file.path) !== undefined;
      const seenBefore = new Set(store.chunksOf(file.path).map((c) => c.hash));
      for (const c of chunks) {
        const early = queuedAhead.delete(c.hash);
        if (!early && known(c.hash)) summary.chunksReused++;
        else {
          if (!early) await queueText(c);
          if (existed && !seenBefore.has(c.hash)) summary.chunksChanged++;
          else summary.chunksNew++;
        }
      }
      pending.push({ file, chunks, terms });
      if (queued.size >= batchSize) await dispatch();
    }
    await dispatch();
    await allLanded();
  } catch (err) {
    // Batches already with a model still land: their files are complete.
    await allLanded().catch(() => undefined);
    if (!options.signal?.aborted) throw err;
    summary.cancelled = true;
    pending = [];
  } finally {
    finished = true;
    options.onProgress?.({ phase: 'saving', filesDone, filesTotal: plan.read.length, chunksEmbedded: embeddedThisRun });
    try {
      await store.flush();
      // After a large run the arrays are up to twice what they hold; after a save, the next save would only grow them again.
      if (grewLarge(summary)) {
        store.trimMemory();
        embedder.forgetCaches?.();
      }
    } finally {
      resumeWrites();
      // The parser's copy of the model weighs about as much as the rest of the worker's runtime;
      // only long runs with a slow model load it, and a later one loads it again.
      if (usedHelper) await helper?.release?.().catch(() => undefined);
    }
  }
  for (const why of parser.failures?.slice(parserFailuresBefore) ?? []) summary.warnings.push(`a parsing thread did not start, so the others parsed its files: ${why}`);
  if (parserLost !== undefined) summary.warnings.push(`the parsing thread did not start, so files were parsed on the indexing thread: ${parserLost}`);
  summary.filesSkipped = skipped.toJSON();
  summary.chunksTotal = store.chunkCount;
  summary.seconds = (Date.now() - started) / 1000;
  options.onProgress?.({ phase: summary.cancelled ? 'cancelled' : 'done', filesDone, filesTotal: plan.read.length, chunksEmbedded: embeddedThisRun });
  return summary;
}

function countHashes(chunks: readonly StoredChunk[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const c of chunks) counts.set(c.hash, (counts.get(c.hash) ?? 0) + 1);
  return counts;
}

/** The chunk as the store keeps it; `.gitattributes` (`attributeRole`) wins over the role the chunker saw. */
export function toStored(c: Chunk, attributeRole: FileRole | undefined, filePath: string = c.path): StoredChunk {
  // Chunks from the parsing thread arrive with a copy of every string: the ones every chunk of a
  // file or of the index shares are taken from one place (node_modules: 30 MB of copies).
  const stored: StoredChunk = { path: filePath, startLine: c.startLine, endLine: c.endLine, language: oneCopy(c.language), kind: c.kind === 'doc' ? 'doc' : 'code', hash: c.hash };
  if (c.symbol !== undefined) stored.symbol = c.symbol;
  const role = FILE_ROLES.find((r) => r === (attributeRole ?? c.role));
  if (role !== undefined && role !== 'source') stored.role = role;
  if (c.minor) stored.minor = true;
  return stored;
}

const copies = new Map<string, string>();
/** The one copy kept of a string from a small set (language names). */
function oneCopy(s: string): string {
  let kept = copies.get(s);
  if (kept === undefined && copies.size < 1000) copies.set(s, (kept = s));
  return kept ?? s;
}
