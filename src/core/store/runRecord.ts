import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeFileAtomic } from './atomicWrite';
import { processAlive } from './writerLock';

/**
 * Whether the last index run of a folder finished. Shards only say what was committed; this says
 * whether that is all of it, so that after a crash `status` and searches can say the index is
 * incomplete instead of passing off part of the folder as the whole.
 */
export interface RunRecord {
  state: 'running' | 'complete' | 'cancelled' | 'failed' | 'interrupted';
  startedAt: string;
  finishedAt?: string;
  /** When a run last went through the whole folder: until then the index holds only part of it. */
  lastCompleteAt?: string;
}

interface StoredRun extends RunRecord {
  pid: number;
  host: string;
}

export const RUN_FILE = 'last-run.json';

/** Records a run under way (the caller holds the writer lock); returns what `writeRunEnd` needs. */
export async function writeRunStart(dir: string, previous: RunRecord | undefined): Promise<RunRecord> {
  const run: RunRecord = { state: 'running', startedAt: new Date().toISOString(), ...(previous?.lastCompleteAt ? { lastCompleteAt: previous.lastCompleteAt } : {}) };
  await writeRun(dir, run);
  return run;
}

export async function writeRunEnd(dir: string, started: RunRecord, state: 'complete' | 'cancelled' | 'failed'): Promise<RunRecord> {
  const finishedAt = new Date().toISOString();
  const run: RunRecord = { ...started, state, finishedAt, ...(state === 'complete' ? { lastCompleteAt: finishedAt } : {}) };
  await writeRun(dir, run);
  return run;
}

async function writeRun(dir: string, run: RunRecord): Promise<void> {
  const stored: StoredRun = { ...run, pid: process.pid, host: os.hostname() };
  await writeFileAtomic(path.join(dir, RUN_FILE), JSON.stringify(stored));
}

/** The last run as recorded; a "running" run whose process is gone is reported as interrupted. */
export async function readRunRecord(dir: string): Promise<RunRecord | undefined> {
  let stored: Partial<StoredRun>;
  try {
    stored = JSON.parse(await fs.readFile(path.join(dir, RUN_FILE), 'utf8')) as Partial<StoredRun>;
  } catch {
    return undefined;
  }
  if (typeof stored.startedAt !== 'string' || !['running', 'complete', 'cancelled', 'failed'].includes(stored.state ?? '')) return undefined;
  const record: RunRecord = {
    state: stored.state!,
    startedAt: stored.startedAt,
    ...(typeof stored.finishedAt === 'string' ? { finishedAt: stored.finishedAt } : {}),
    ...(typeof stored.lastCompleteAt === 'string' ? { lastCompleteAt: stored.lastCompleteAt } : {}),
  };
  if (record.state === 'running' && stored.host === os.hostname() && !(typeof stored.pid === 'number' && processAlive(stored.pid))) record.state = 'interrupted';
  return record;
}
