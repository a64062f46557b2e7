import { Worker } from 'node:worker_threads';
import type { ResolvedModel } from '../embed/resolveModel';
import { readSourceFile } from '../scan/readSourceFile';
import type { SkipReason } from '../scan/skipReasons';
import { fileTerms, type FileTerms } from '../search/codeTokens';
import type { Chunk, TokenCounter } from '../types';
import { splitRows } from '../typedArrays';
import type { FileChunker } from './indexer';

/**
 * A file's chunks (with their model input ids, which the chunker assembles where it can) and
 * their keyword terms: worked out where the file is parsed, so the thread running the model need
 * not. From the parsing thread, a chunk with `tokenIds` comes without its text.
 */
export type ParsedFile = { ok: true; chunks: Chunk[]; terms: FileTerms } | { ok: false; reason: SkipReason; detail: string };

/** Reads a file and cuts it into chunks: the part of indexing that comes before the model. */
export interface FileParser {
  parse(absPath: string, relPath: string, maxBytes: number): Promise<ParsedFile>;
  /**
   * Embeds a batch where the parser runs, with a model of its own: when parsing is far ahead (a
   * slow model), its thread would otherwise wait, and a second model keeps both cores busy.
   */
  embed?(texts: readonly string[], ids: readonly (Int32Array | undefined)[]): Promise<Float32Array[]>;
  /** Unloads the model `embed` loaded, until it is next asked to embed. */
  release?(): Promise<void>;
  /** Threads it parses on, when more than one. */
  readonly lanes?: number;
  /** True when no thread of it is running now: a request would wait for one to start. */
  readonly stopped?: boolean;
  /** Why parts of it stopped working (their work went elsewhere), oldest first. */
  readonly failures?: readonly string[];
  dispose(): Promise<void>;
}

export interface ParseSettings {
  maxTokens: number;
}

/** Parses on the calling thread. */
export class InlineParser implements FileParser {
  constructor(
    private readonly chunker: FileChunker,
    private readonly tokens: TokenCounter,
    private readonly settings: ParseSettings,
  ) {}

  async parse(absPath: string, relPath: string, maxBytes: number): Promise<ParsedFile> {
    const read = readSourceFile(absPath, maxBytes);
    if (!read.ok) return read;
    const chunks = await this.chunker.chunkFile(relPath, read.text, { maxTokens: this.settings.maxTokens, tokens: this.tokens });
    return { ok: true, chunks, terms: fileTerms(chunks.map((c) => c.text)) };
  }

  async dispose(): Promise<void> {}
}

/** What the parsing thread is started with (`workerData`). */
export interface ParseThreadData {
  model: ResolvedModel;
  settings: ParseSettings;
}

export type ParseThreadRequest =
  | { id: number; parse: { absPath: string; relPath: string; maxBytes: number } }
  | { id: number; embed: PackedTexts }
  | { id: number; release: true };
export type ParseThreadReply =
  | { id: number; result: SentFile }
  | { id: number; vectors: Float32Array; dimension: number }
  | { id: number; released: true }
  | { id: number; error: string };

/**
 * A batch's texts as they cross to the parsing thread: the model inputs of those that have them
 * in one buffer (moved, not copied), the texts of the rest.
 */
export interface PackedTexts {
  texts: string[];
  /** Text i's ids are `ids[starts[i]..starts[i+1]]`, or none when the two are equal. */
  ids: Int32Array;
  starts: Uint32Array;
}

export function packTexts(texts: readonly string[], ids: readonly (Int32Array | undefined)[]): PackedTexts {
  const starts = new Uint32Array(texts.length + 1);
  for (let i = 0; i < texts.length; i++) starts[i + 1] = starts[i]! + (ids[i]?.length ?? 0);
  const packed = new Int32Array(starts[texts.length]!);
  ids.forEach((x, i) => x && packed.set(x, starts[i]!));
  return { texts: texts.map((t, i) => (ids[i] ? '' : t)), ids: packed, starts };
}

export function unpackTexts({ texts, ids, starts }: PackedTexts): { texts: string[]; ids: (Int32Array | undefined)[] } {
  return { texts, ids: texts.map((_, i) => (starts[i + 1]! > starts[i]! ? ids.subarray(starts[i]!, starts[i + 1]!) : undefined)) };
}

/** A parsed file as it crosses from the parsing thread: its terms by number (see `TermSender`). */
export type SentFile = { ok: true; chunks: Chunk[]; terms: SentTerms } | { ok: false; reason: SkipReason; detail: string };

export interface SentTerms extends Omit<FileTerms, 'vocabulary'> {
  /** The file's terms by their numbers. */
  vocabulary: Uint32Array;
  /** The terms numbered for this file, in number order: sent once, the first time they occur. */
  newTerms: string[];
  /** Numbering started again with this file (the sender's table was full). */
  reset: boolean;
}

/** More distinct terms than any real code base has: past it, numbering starts again. */
const MAX_SENT_TERMS = 1 << 20;

/**
 * Keyword terms cross from the parsing thread as numbers: the sender numbers each term the first
 * time it goes out and sends its text that once; the receiver keeps the texts by number. Sent as
 * strings, every file's terms were copied, hashed again by the keyword index and collected;
 * received by number, they are the same strings every time, and the index finds them at once.
 * Both sides must see the files in one order: the thread numbers a file's terms as it posts it.
 */
export class TermSender {
  private readonly numbers = new Map<string, number>();

  constructor(private readonly maxTerms = MAX_SENT_TERMS) {}

  send(terms: FileTerms): SentTerms {
    const reset = this.numbers.size + terms.vocabulary.length > this.maxTerms;
    if (reset) this.numbers.clear();
    const newTerms: string[] = [];
    const vocabulary = Uint32Array.from(terms.vocabulary, (term) => {
      let n = this.numbers.get(term);
      if (n === undefined) {
        n = this.numbers.size;
        this.numbers.set(term, n);
        newTerms.push(term);
      }
      return n;
    });
    return { offsets: terms.offsets, ids: terms.ids, counts: terms.counts, vocabulary, newTerms, reset };
  }
}

export class TermReceiver {
  private terms: string[] = [];
  /** Stands for the current numbering; a new one when numbering starts again. */
  private space = {};

  receive(sent: SentTerms): FileTerms {
    if (sent.reset) {
      this.terms = [];
      this.space = {};
    }
    for (const t of sent.newTerms) this.terms.push(t);
    const { offsets, ids, counts, vocabulary: numbers } = sent;
    return { offsets, ids, counts, vocabulary: Array.from(numbers, (n) => this.terms[n]!), numbered: { space: this.space, numbers } };
  }
}

/**
 * Parses on a worker thread with its own tree-sitter and tokenizer. onnxruntime-node runs
 * inference synchronously on the thread that calls it, so parsing on that same thread would wait
 * for every batch; on its own thread it proceeds while the model works. Asked to embed, the
 * thread loads its own copy of the model (one inference thread), kept until `release`.
 */
export class ThreadParser implements FileParser {
  private readonly pending = new Map<number, { resolve: (r: ParsedFile | Float32Array[] | undefined) => void; reject: (e: Error) => void }>();
  /** The thread holds a model of its own (it has been asked to embed since the last release). */
  private embedding = false;
  private nextId = 1;
  private failure: Error | undefined;
  private readonly terms = new TermReceiver();

  private constructor(private readonly worker: Worker) {
    worker.on('message', (reply: ParseThreadReply) => {
      // Every reply's terms are taken in, in order, even one nobody waits for: later ones build on them.
      const result = 'result' in reply ? this.received(reply.result) : undefined;
      const waiter = this.pending.get(reply.id);
      if (!waiter) return;
      this.pending.delete(reply.id);
      if ('error' in reply) waiter.reject(new Error(reply.error));
      else if ('vectors' in reply) waiter.resolve(splitRows(reply.vectors, reply.dimension));
      else if ('released' in reply) waiter.resolve(undefined);
      else waiter.resolve(result!);
    });
    const fail = (err: Error) => {
      this.failure = err;
      for (const w of this.pending.values()) w.reject(err);
      this.pending.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`the parsing thread exited (${code})`)));
  }

  /** Starts the thread and waits until its parsers and tokenizer are loaded. */
  static async start(entry: string, data: ParseThreadData): Promise<ThreadParser> {
    // Running from source (tests), the thread loads the TypeScript entry through tsx.
    const worker = entry.endsWith('.ts')
      ? new Worker(`require('tsx/cjs/api').register(); require(${JSON.stringify(entry)});`, { eval: true, workerData: data })
      : new Worker(entry, { workerData: data });
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      worker.once('error', onError);
      worker.once('exit', (code) => reject(new Error(`the parsing thread exited (${code}) while starting`)));
      worker.once('message', (m: { ready?: boolean }) => {
        worker.off('error', onError);
        worker.removeAllListeners('exit');
        if (m.ready) resolve();
        else reject(new Error('the parsing thread did not start'));
      });
    });
    return new ThreadParser(worker);
  }

  private received(sent: SentFile): ParsedFile {
    return sent.ok ? { ...sent, terms: this.terms.receive(sent.terms) } : sent;
  }

  parse(absPath: string, relPath: string, maxBytes: number): Promise<ParsedFile> {
    return this.request({ id: this.nextId++, parse: { absPath, relPath, maxBytes } }) as Promise<ParsedFile>;
  }

  /** The thread loads its own copy of the model the first time it is asked to embed. */
  embed(texts: readonly string[], ids: readonly (Int32Array | undefined)[]): Promise<Float32Array[]> {
    const packed = packTexts(texts, ids);
    this.embedding = true;
    return this.request({ id: this.nextId++, embed: packed }, [packed.ids.buffer as ArrayBuffer]) as Promise<Float32Array[]>;
  }

  async release(): Promise<void> {
    if (!this.embedding) return;
    this.embedding = false;
    await this.request({ id: this.nextId++, release: true });
  }

  private request(message: ParseThreadRequest, transfer: ArrayBuffer[] = []): Promise<ParsedFile | Float32Array[] | undefined> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.pending.set(message.id, { resolve, reject });
      this.worker.postMessage(message, transfer);
    });
  }

  async dispose(): Promise<void> {
    this.worker.removeAllListeners('exit');
    this.failure ??= new Error('the parsing thread was stopped');
    for (const w of this.pending.values()) w.reject(this.failure);
    this.pending.clear();
    await this.worker.terminate();
  }
}

/** The parsing thread could not be started: nothing was parsed, the request may go elsewhere. */
export class ThreadStartError extends Error {}

/** How long the parsing thread may sit without work before it is stopped (see `IdleStoppingParser`). */
export const PARSE_THREAD_IDLE_MS = 20_000;

/**
 * The parsing thread, stopped once it has had no work for `idleMs` and started again by the next
 * request. A thread that has parsed a large tree keeps what it grew to (its heap, tree-sitter's
 * memory, which never shrinks, and the numbering of every term it sent) for as long as it lives;
 * between runs none of it is needed. Starting again costs the next run a fraction of a second.
 */
export class IdleStoppingParser implements FileParser {
  private thread: Promise<ThreadParser> | undefined;
  private busy = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly start: () => Promise<ThreadParser>,
    /** The thread already started, if any; without one the first request starts it. */
    running: ThreadParser | undefined,
    private readonly idleMs = PARSE_THREAD_IDLE_MS,
  ) {
    if (running) {
      this.thread = Promise.resolve(running);
      this.idle();
    }
  }

  get stopped(): boolean {
    return this.thread === undefined;
  }

  parse(absPath: string, relPath: string, maxBytes: number): Promise<ParsedFile> {
    return this.use((t) => t.parse(absPath, relPath, maxBytes));
  }

  embed(texts: readonly string[], ids: readonly (Int32Array | undefined)[]): Promise<Float32Array[]> {
    return this.use((t) => t.embed(texts, ids));
  }

  async release(): Promise<void> {
    // A stopped thread holds no model.
    if (this.thread) await this.use((t) => t.release());
  }

  async dispose(): Promise<void> {
    clearTimeout(this.timer);
    const thread = this.thread;
    this.thread = undefined;
    await (await thread?.catch(() => undefined))?.dispose();
  }

  private async use<T>(work: (t: ThreadParser) => Promise<T>): Promise<T> {
    clearTimeout(this.timer);
    this.busy++;
    try {
      const thread = await (this.thread ??= this.startAgain()).catch((err: unknown) => {
        throw new ThreadStartError(err instanceof Error ? err.message : String(err));
      });
      return await work(thread);
    } finally {
      if (--this.busy === 0) this.idle();
    }
  }

  private startAgain(): Promise<ThreadParser> {
    const started = this.start();
    // A thread that failed to start is tried again by the next request.
    started.catch(() => this.thread === started && (this.thread = undefined));
    return started;
  }

  private idle(): void {
    this.timer = setTimeout(() => {
      if (this.busy > 0 || !this.thread) return;
      const thread = this.thread;
      this.thread = undefined;
      void thread.then((t) => t.dispose()).catch(() => undefined);
    }, this.idleMs);
    this.timer.unref();
  }
}

