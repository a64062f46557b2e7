import { ThreadStartError, type FileParser, type ParsedFile } from './fileParser';

/**
 * Files handed to one lane at a time. A lane's thread parses what it holds while the indexing
 * thread is inside a (synchronous) model call and cannot hand out more: with the static model a
 * batch takes a few milliseconds, about as long as 16 small files take to parse. Kept short so
 * that what is left waits in the shared queue, for whichever lane frees first.
 */
export const FILES_PER_LANE = 16;

interface ParseJob {
  args: [absPath: string, relPath: string, maxBytes: number];
  resolve: (r: ParsedFile) => void;
  reject: (e: unknown) => void;
}

/**
 * Several parsers (each on a thread of its own) behind one: files wait in one queue in the order
 * they were asked for, and each lane takes the next as soon as it has room, so a lane stuck on a
 * large file holds up nothing but its own few. Results settle per file; the indexer takes them in
 * its order whichever lane parsed them, and every lane parses a file the same way, so the index
 * is the same whatever the number of lanes. The first lane also embeds when asked (one extra copy
 * of the model at most); while it does, files go to the others.
 */
export class ParserPool implements FileParser {
  private readonly queue: ParseJob[] = [];
  private head = 0;
  private readonly held: number[];
  private embedding = 0;
  private readonly perLane: number;
  /** Why lanes were closed (their threads failed to start). */
  readonly failures: string[] = [];

  constructor(
    private readonly parsers: readonly FileParser[],
    perLane = FILES_PER_LANE,
  ) {
    if (parsers.length === 0) throw new Error('a parser pool needs at least one lane');
    this.held = parsers.map(() => 0);
    // One lane gains nothing from holding files back: it takes every file as it is asked for.
    this.perLane = parsers.length === 1 ? Infinity : perLane;
  }

  get lanes(): number {
    return this.parsers.length;
  }

  get stopped(): boolean {
    return this.parsers.every((p) => p.stopped === true);
  }

  parse(absPath: string, relPath: string, maxBytes: number): Promise<ParsedFile> {
    return new Promise((resolve, reject) => {
      this.queue.push({ args: [absPath, relPath, maxBytes], resolve, reject });
      this.handOut();
    });
  }

  embed(texts: readonly string[], ids: readonly (Int32Array | undefined)[]): Promise<Float32Array[]> {
    const lane = this.parsers[0]!;
    if (!lane.embed) return Promise.reject(new Error('this parser does not embed'));
    this.embedding++;
    return lane.embed(texts, ids).finally(() => {
      this.embedding--;
      this.handOut();
    });
  }

  async release(): Promise<void> {
    await this.parsers[0]!.release?.();
  }

  async dispose(): Promise<void> {
    const stopped = new Error('the parser pool was stopped');
    for (let i = this.head; i < this.queue.length; i++) this.queue[i]!.reject(stopped);
    this.queue.length = this.head = 0;
    await Promise.all(this.parsers.map((l) => l.dispose()));
  }

  /** Gives queued files to lanes with room, the emptiest first, until either runs out. */
  private handOut(): void {
    while (this.head < this.queue.length) {
      const lane = nextLane(this.held, this.perLane, this.embedding > 0 && this.parsers.length > 1 ? 0 : -1);
      if (lane < 0) break;
      const job = this.queue[this.head++]!;
      this.held[lane]!++;
      this.parsers[lane]!.parse(...job.args)
        .then(job.resolve, (err: unknown) => {
          if (!(err instanceof ThreadStartError) || lane === 0) return job.reject(err);
          // A lane whose thread will not start is closed for good; its files go to the others.
          if (this.held[lane] !== Infinity) this.failures.push(err.message);
          this.held[lane] = Infinity;
          this.queue.splice(this.head, 0, job);
        })
        .finally(() => {
          this.held[lane]!--;
          this.handOut();
        });
    }
    if (this.head === this.queue.length) this.queue.length = this.head = 0;
  }
}

/**
 * The lane to give the next file: the one holding fewest (the lowest-numbered among equals),
 * if it holds fewer than `perLane`; -1 when every lane is full. `skip` is a lane busy embedding.
 */
export function nextLane(held: readonly number[], perLane: number, skip = -1): number {
  let best = -1;
  for (let i = 0; i < held.length; i++) {
    if (i === skip || held[i]! >= perLane) continue;
    if (best < 0 || held[i]! < held[best]!) best = i;
  }
  return best;
}
