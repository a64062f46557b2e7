import { fork, type ChildProcess } from 'node:child_process';
import { isWorkerMessage, type ModelSummary, type RequestType, type Requests, type WorkerConfig, type WorkerErrorCode, type WorkerMessage } from './protocol';

export type WorkerEvent = Exclude<WorkerMessage, { type: 'result' } | { type: 'error' }> | { type: 'restarting'; attempt: number; delayMs: number; reason: string } | { type: 'gave-up'; reason: string };

export interface WorkerClientOptions {
  /** The bundled worker script (dist/worker.js), or the TypeScript source with `execArgv: ['--import', 'tsx']`. */
  workerPath: string;
  execArgv?: string[];
  /** Environment of the worker process (default: this process's). */
  env?: NodeJS.ProcessEnv;
  config: WorkerConfig;
  onEvent?: (event: WorkerEvent) => void;
  /** Crashes tolerated in a row before giving up. */
  maxRestarts?: number;
  /** First back-off delay; doubles on each crash in a row. */
  restartDelayMs?: number;
}

export class WorkerError extends Error {
  constructor(readonly code: WorkerErrorCode | 'worker-crashed' | 'worker-stopped', message: string) {
    super(message);
    this.name = 'WorkerError';
  }
}

interface Pending {
  type: RequestType;
  params: unknown;
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
}

/**
 * The host's handle on the worker process. It restarts a worker that dies, with exponential
 * back-off, and re-sends the index run that was under way: the index is incremental, so the new
 * run picks up after the last committed file.
 */
export class WorkerClient {
  private child: ChildProcess | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private crashesInARow = 0;
  private startedAt = 0;
  private stopped = false;
  private ready: Promise<ModelSummary> | undefined;

  constructor(private readonly options: WorkerClientOptions) {}

  /** Starts the worker and loads the model; resolves once it can serve requests. */
  start(): Promise<ModelSummary> {
    this.ready ??= this.spawn();
    return this.ready;
  }

  async request<K extends RequestType>(type: K, params: Requests[K]['params']): Promise<Requests[K]['result']> {
    await this.start();
    return this.send(type, params);
  }

  cancel(): void {
    this.child?.send({ type: 'cancel' });
  }

  pause(): void {
    this.child?.send({ type: 'pause' });
  }

  resume(): void {
    this.child?.send({ type: 'resume' });
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Asks the worker to finish cleanly (it commits what it has), then kills it if it lingers. */
  async dispose(timeoutMs = 5_000): Promise<void> {
    this.stopped = true;
    const child = this.child;
    this.child = undefined;
    for (const p of this.pending.values()) p.reject(new WorkerError('worker-stopped', 'Nearby stopped its worker.'));
    this.pending.clear();
    if (!child || child.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.send({ type: 'shutdown' });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    await exited;
    clearTimeout(timer);
  }

  private send<K extends RequestType>(type: K, params: Requests[K]['params']): Promise<Requests[K]['result']> {
    const child = this.child;
    if (!child) return Promise.reject(new WorkerError('worker-stopped', 'The worker is not running.'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { type, params, resolve: resolve as (v: unknown) => void, reject });
      child.send({ type, id, ...params });
    });
  }

  private async spawn(): Promise<ModelSummary> {
    const child = fork(this.options.workerPath, [], {
      // The worker collects its garbage once after a large index run (see main.ts).
      execArgv: [...(this.options.execArgv ?? []), '--expose-gc'],
      env: workerEnv(this.options.env ?? process.env),
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      serialization: 'json',
    });
    this.child = child;
    this.startedAt = Date.now();
    child.on('message', (raw) => this.onMessage(raw));
    child.on('exit', (code, signal) => this.onExit(child, code, signal));
    return this.send('init', { config: this.options.config });
  }

  private onMessage(raw: unknown): void {
    if (!isWorkerMessage(raw)) return;
    if (raw.type === 'result' || raw.type === 'error') {
      const p = this.pending.get(raw.id);
      if (!p) return;
      this.pending.delete(raw.id);
      if (raw.type === 'result') p.resolve(raw.result);
      else p.reject(new WorkerError(raw.code, raw.message));
      return;
    }
    this.options.onEvent?.(raw);
  }

  private onExit(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.child !== child || this.stopped) return;
    this.child = undefined;
    const reason = signal ? `killed by ${signal}` : `exited with code ${code}`;
    const inFlight = [...this.pending.values()];
    this.pending.clear();
    const initFailed = inFlight.some((p) => p.type === 'init');
    // Crashes count as "in a row" unless the worker lived long enough to do real work in between.
    if (Date.now() - this.startedAt > 60_000) this.crashesInARow = 0;
    // A worker that cannot even load its model will not do better on restart.
    const maxRestarts = this.options.maxRestarts ?? 5;
    if (initFailed || this.crashesInARow >= maxRestarts) {
      this.ready = undefined;
      for (const p of inFlight) p.reject(new WorkerError('worker-crashed', `The Nearby worker ${reason}.`));
      this.options.onEvent?.({ type: 'gave-up', reason });
      return;
    }
    this.crashesInARow++;
    const delayMs = (this.options.restartDelayMs ?? 1_000) * 2 ** (this.crashesInARow - 1);
    this.options.onEvent?.({ type: 'restarting', attempt: this.crashesInARow, delayMs, reason });
    this.ready = new Promise<void>((r) => setTimeout(r, delayMs)).then(() => this.spawn());
    this.ready.then(
      () => {
        for (const p of inFlight) this.send(p.type, p.params as never).then(p.resolve, p.reject);
      },
      (err: Error) => {
        for (const p of inFlight) p.reject(err);
      },
    );
  }
}

/**
 * The worker's environment. glibc's malloc serves a large block from its heap once a block that
 * size has been freed (its mmap threshold rises with each such free), and the index's buffers grow
 * by doubling: freed, the old ones stayed in the heap, and the heap is never given back. A fixed
 * threshold keeps large blocks mapped on their own and returned when freed (node_modules, 172k
 * chunks: the worker's malloc heap after a run 184 -> 86 MB, peak 1.25 -> 1.10 GB). Other C
 * libraries ignore the variable; a value the user set wins.
 */
function workerEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return { MALLOC_MMAP_THRESHOLD_: String(64 * 1024), ...env };
}
