import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** What a lock file says about its holder. */
export interface LockHolder {
  pid: number;
  host: string;
  token: string;
  since: string;
}

export interface WriterLockOptions {
  /** How often the holder touches the lock file to show it is alive. */
  heartbeatMs?: number;
  /** A lock not touched for this long is taken to be abandoned, whatever its pid says. */
  staleMs?: number;
}

export class IndexLockedError extends Error {
  constructor(
    readonly dir: string,
    readonly holder: LockHolder,
  ) {
    super(
      holder.pid === process.pid
        ? `this process is already writing the index in ${dir}`
        : `another Nearby process (pid ${holder.pid}${holder.host === os.hostname() ? '' : ` on ${holder.host}`}) is indexing this folder; searches still work, indexing resumes once it finishes`,
    );
    this.name = 'IndexLockedError';
  }
}

export const LOCK_FILE = 'writer.lock';
const DEFAULT_HEARTBEAT_MS = 5_000;
const DEFAULT_STALE_MS = 30_000;
/** A lock file younger than this with no readable contents is being created right now. */
const CREATION_GRACE_MS = 2_000;

/**
 * One writer per index directory, across processes. The lock is a file created exclusively
 * (`O_EXCL`), so exactly one process wins; it names its holder and is touched on a heartbeat.
 * A lock whose process is gone (same host, pid not alive) or whose heartbeat stopped is stale and
 * is taken over. Readers never lock: shards are replaced atomically, so they read whole files.
 */
export class WriterLock {
  private timer: NodeJS.Timeout | undefined;
  private lostReason: string | undefined;

  private constructor(
    readonly file: string,
    readonly holder: LockHolder,
    private readonly heartbeatMs: number,
  ) {}

  static async acquire(dir: string, options: WriterLockOptions = {}): Promise<WriterLock> {
    const file = path.join(dir, LOCK_FILE);
    const staleMs = options.staleMs ?? DEFAULT_STALE_MS;
    const holder: LockHolder = { pid: process.pid, host: os.hostname(), token: randomBytes(12).toString('hex'), since: new Date().toISOString() };
    await fs.mkdir(dir, { recursive: true });
    for (let attempt = 0; attempt < 50; attempt++) {
      if (await tryCreate(file, holder)) {
        const lock = new WriterLock(file, holder, options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS);
        lock.startHeartbeat();
        return lock;
      }
      const current = await readHolder(file);
      if (current === 'gone') continue;
      if (current === 'unreadable') {
        // Either mid-creation by a live process, or torn by a crash right after creation.
        const age = await ageMs(file);
        if (age !== undefined && age < CREATION_GRACE_MS) {
          await sleep(20);
          continue;
        }
        await breakLock(file, undefined);
        continue;
      }
      const age = await ageMs(file);
      if (age === undefined) continue;
      if (isAbandoned(current, age, staleMs)) {
        await breakLock(file, current.token);
        continue;
      }
      throw new IndexLockedError(dir, current);
    }
    throw new Error(`could not take the writer lock ${file}: it keeps changing hands`);
  }

  /** Who holds the lock on `dir` right now, if anyone alive does. */
  static async holderOf(dir: string, options: WriterLockOptions = {}): Promise<LockHolder | undefined> {
    const file = path.join(dir, LOCK_FILE);
    const current = await readHolder(file);
    if (typeof current === 'string') return undefined;
    const age = await ageMs(file);
    return age !== undefined && !isAbandoned(current, age, options.staleMs ?? DEFAULT_STALE_MS) ? current : undefined;
  }

  /** Throws if another process took the lock over (our heartbeat stalled past the stale limit). */
  async assertHeld(): Promise<void> {
    if (!this.lostReason) {
      const current = await readHolder(this.file);
      if (typeof current === 'string' || current.token !== this.holder.token) {
        const dirGone = await fs.stat(path.dirname(this.file)).then(() => false, () => true);
        this.lostReason = dirGone ? 'the index folder was deleted while it was being written; the next run rebuilds it' : 'the lock file was taken over or removed';
      }
    }
    if (this.lostReason) throw new Error(`lost the writer lock on ${path.dirname(this.file)}: ${this.lostReason}`);
  }

  get held(): boolean {
    return this.timer !== undefined && !this.lostReason;
  }

  async release(): Promise<void> {
    this.stopHeartbeat();
    const current = await readHolder(this.file);
    if (typeof current !== 'string' && current.token === this.holder.token) await fs.rm(this.file, { force: true });
  }

  private startHeartbeat(): void {
    this.timer = setInterval(() => {
      void this.beat();
    }, this.heartbeatMs);
    // The heartbeat alone must not keep a finished CLI run alive.
    this.timer.unref();
  }

  private stopHeartbeat(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private async beat(): Promise<void> {
    const current = await readHolder(this.file);
    if (typeof current === 'string' || current.token !== this.holder.token) {
      this.lostReason = 'the lock file was taken over or removed';
      this.stopHeartbeat();
      return;
    }
    const now = new Date();
    await fs.utimes(this.file, now, now).catch(() => undefined);
  }
}

async function tryCreate(file: string, holder: LockHolder): Promise<boolean> {
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(file, 'wx');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
  try {
    await handle.writeFile(JSON.stringify(holder));
    await handle.sync();
  } finally {
    await handle.close();
  }
  return true;
}

async function readHolder(file: string): Promise<LockHolder | 'gone' | 'unreadable'> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'gone';
    throw err;
  }
  try {
    const h = JSON.parse(text) as Partial<LockHolder>;
    if (typeof h.pid === 'number' && typeof h.token === 'string' && typeof h.host === 'string') return { pid: h.pid, host: h.host, token: h.token, since: String(h.since ?? '') };
  } catch {
    // fall through
  }
  return 'unreadable';
}

async function ageMs(file: string): Promise<number | undefined> {
  try {
    return Date.now() - (await fs.stat(file)).mtimeMs;
  } catch {
    return undefined;
  }
}

function isAbandoned(holder: LockHolder, ageMs: number, staleMs: number): boolean {
  if (ageMs > staleMs) return true;
  return holder.host === os.hostname() && !processAlive(holder.pid);
}

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes an abandoned lock without removing a fresh one that replaced it in the meantime: the
 * file is first moved aside (only one mover can win), then checked; a fresh lock moved by
 * mistake is put back, unless yet another process has created one since.
 */
async function breakLock(file: string, staleToken: string | undefined): Promise<void> {
  const aside = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.stale`;
  try {
    await fs.rename(file, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  const moved = await readHolder(aside);
  const wasStale = staleToken === undefined ? typeof moved === 'string' : typeof moved !== 'string' && moved.token === staleToken;
  if (!wasStale) {
    await fs.link(aside, file).catch(() => undefined);
  }
  await fs.rm(aside, { force: true });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
