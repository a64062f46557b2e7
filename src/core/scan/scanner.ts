import { promises as fs, type Dirent } from 'node:fs';
import * as path from 'node:path';
import picomatch from 'picomatch';
import { DEFAULT_EXCLUDES, IGNORE_FILE_NAMES, IgnoreStack } from './ignoreRules';
import { SkipReport, type SkipReason } from './skipReasons';

export interface ScanOptions {
  /** Globs (relative to the root) a file must match to be indexed; empty = everything. */
  include?: readonly string[];
  /** Globs (relative to the root) that exclude files, e.g. from `files.exclude`. */
  exclude?: readonly string[];
  /** Files larger than this are skipped. Default 1 MB. */
  maxFileBytes?: number;
  /** Replace the built-in default excludes (mainly for tests). */
  defaultExcludes?: readonly string[];
  signal?: AbortSignal;
}

export interface ScannedFile {
  /** Relative to the root, `/` separators. */
  path: string;
  absPath: string;
  size: number;
  mtimeMs: number;
}

export interface ScanResult {
  files: ScannedFile[];
  skipped: SkipReport;
}

export const DEFAULT_MAX_FILE_BYTES = 1_000_000;

/**
 * Lists every indexable file under `root`, honouring nested ignore files, globs and the size cap.
 * Content checks (binary, encoding, minified) happen when a file is read: see `readSourceFile`.
 * Symbolic links are followed; a directory reached twice through links is a loop and skipped.
 */
export async function scanFiles(root: string, options: ScanOptions = {}): Promise<ScanResult> {
  const maxBytes = options.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
  const include = options.include?.length ? picomatch(options.include as string[], { dot: true }) : undefined;
  const exclude = options.exclude?.length ? picomatch(options.exclude as string[], { dot: true }) : undefined;
  const files: ScannedFile[] = [];
  const skipped = new SkipReport();
  const skip = (rel: string, reason: SkipReason, detail?: string) =>
    skipped.add(detail === undefined ? { path: rel, reason } : { path: rel, reason, detail });

  const rootReal = await fs.realpath(root);
  const visitedDirs = new Set<string>([rootReal]);

  async function walk(dirAbs: string, dirRel: string, parentRules: IgnoreStack): Promise<void> {
    options.signal?.throwIfAborted();
    let entries: Dirent[];
    try {
      entries = await fs.readdir(dirAbs, { withFileTypes: true });
    } catch (err) {
      skip(dirRel || '.', errorReason(err), errorMessage(err));
      return;
    }
    const rules = parentRules.descend(dirRel, await readIgnoreFiles(dirAbs, entries));
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const rel = dirRel ? `${dirRel}/${entry.name}` : entry.name;
      const abs = path.join(dirAbs, entry.name);
      let isDir = entry.isDirectory();
      let isFile = entry.isFile();
      if (entry.isSymbolicLink()) {
        try {
          const target = await fs.stat(abs);
          isDir = target.isDirectory();
          isFile = target.isFile();
        } catch (err) {
          skip(rel, isLoopError(err) ? 'symlink-loop' : 'broken-symlink', errorMessage(err));
          continue;
        }
      }
      if (isDir) {
        if (rules.ignores(`${rel}/`)) {
          skip(rel, 'ignored');
          continue;
        }
        let real: string;
        try {
          real = await fs.realpath(abs);
        } catch (err) {
          skip(rel, errorReason(err), errorMessage(err));
          continue;
        }
        if (visitedDirs.has(real)) {
          skip(rel, 'symlink-loop', `already indexed as ${path.relative(rootReal, real) || '.'}`);
          continue;
        }
        visitedDirs.add(real);
        await walk(abs, rel, rules);
      } else if (isFile) {
        if (IGNORE_FILE_NAMES.includes(entry.name as (typeof IGNORE_FILE_NAMES)[number])) continue;
        if (rules.ignores(rel)) skip(rel, 'ignored');
        else if ((include && !include(rel)) || exclude?.(rel)) skip(rel, 'excluded');
        else await addFile(abs, rel);
      }
    }
  }

  async function addFile(abs: string, rel: string): Promise<void> {
    try {
      const stat = await fs.stat(abs);
      if (stat.size > maxBytes) skip(rel, 'too-large', `${stat.size} bytes > ${maxBytes}`);
      else files.push({ path: rel, absPath: abs, size: stat.size, mtimeMs: stat.mtimeMs });
    } catch (err) {
      skip(rel, errorReason(err), errorMessage(err));
    }
  }

  await walk(rootReal, '', IgnoreStack.root(options.defaultExcludes ?? DEFAULT_EXCLUDES));
  return { files, skipped };
}

async function readIgnoreFiles(dirAbs: string, entries: readonly Dirent[]): Promise<string[]> {
  const contents: string[] = [];
  for (const name of IGNORE_FILE_NAMES) {
    if (!entries.some((e) => e.name === name)) continue;
    try {
      contents.push(await fs.readFile(path.join(dirAbs, name), 'utf8'));
    } catch {
      // An unreadable ignore file is treated as absent: indexing a file too many beats crashing.
    }
  }
  return contents;
}

export function errorReason(err: unknown): SkipReason {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT') return 'vanished';
  if (code === 'ELOOP') return 'symlink-loop';
  return 'unreadable';
}

function isLoopError(err: unknown): boolean {
  return (err as NodeJS.ErrnoException | undefined)?.code === 'ELOOP';
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
