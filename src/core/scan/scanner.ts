import { promises as fs, existsSync, readdirSync, readFileSync, realpathSync, statSync, type Dirent } from 'node:fs';
import * as path from 'node:path';
import picomatch from 'picomatch';
import { AttributeStack, type FileRole } from './fileRole';
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
  /** The role `.gitattributes` gives the file (`linguist-generated` and the like), if any. */
  role?: FileRole;
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
 *
 * The file system is asked synchronously, and the event loop turns between directories every
 * YIELD_EVERY_MS so that the caller's messages are still answered: with the promise API each
 * directory cost several round trips to the I/O pool one after another, and the scan of 14,000
 * files spent most of its time waiting on them while nothing else could start.
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
  let lastYield = Date.now();

  async function walk(dirAbs: string, dirRel: string, parentRules: IgnoreStack, parentAttributes: AttributeStack): Promise<void> {
    if (Date.now() - lastYield >= YIELD_EVERY_MS) {
      await new Promise((resolve) => setImmediate(resolve));
      lastYield = Date.now();
    }
    options.signal?.throwIfAborted();
    let entries: Dirent[];
    try {
      entries = readdirSync(dirAbs, { withFileTypes: true });
    } catch (err) {
      skip(dirRel || '.', errorReason(err), errorMessage(err));
      return;
    }
    const rules = parentRules.descend(dirRel, readIgnoreFiles(dirAbs, entries));
    const attributes = parentAttributes.descend(dirRel, readAttributes(dirAbs, entries));
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const rel = dirRel ? `${dirRel}/${entry.name}` : entry.name;
      const abs = path.join(dirAbs, entry.name);
      // A name that is not UTF-8 reaches us with replacement characters and cannot be opened by it.
      if (entry.name.includes('\uFFFD') && !existsSync(abs)) {
        skip(rel, 'unreadable', 'its name is not valid UTF-8, which Nearby cannot open');
        continue;
      }
      let isDir = entry.isDirectory();
      let isFile = entry.isFile();
      if (entry.isSymbolicLink()) {
        try {
          const target = statSync(abs);
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
          real = realpathSync(abs);
        } catch (err) {
          skip(rel, errorReason(err), errorMessage(err));
          continue;
        }
        if (visitedDirs.has(real)) {
          skip(rel, 'symlink-loop', `already indexed as ${path.relative(rootReal, real) || '.'}`);
          continue;
        }
        visitedDirs.add(real);
        await walk(abs, rel, rules, attributes);
      } else if (isFile) {
        if (IGNORE_FILE_NAMES.includes(entry.name as (typeof IGNORE_FILE_NAMES)[number])) continue;
        if (rules.ignores(rel)) skip(rel, 'ignored');
        else if ((include && !include(rel)) || exclude?.(rel)) skip(rel, 'excluded');
        else addFile(abs, rel, attributes.roleOf(rel));
      } else if (!rules.ignores(rel)) skip(rel, 'unreadable', 'not a regular file (a pipe, socket or device)');
    }
  }

  function addFile(abs: string, rel: string, role: FileRole | undefined): void {
    try {
      const stat = statSync(abs);
      if (stat.size <= maxBytes) files.push({ path: rel, absPath: abs, size: stat.size, mtimeMs: stat.mtimeMs, ...(role ? { role } : {}) });
      else skip(rel, 'too-large', `${stat.size} bytes > ${maxBytes}`);
    } catch (err) {
      skip(rel, errorReason(err), errorMessage(err));
    }
  }

  await walk(rootReal, '', IgnoreStack.root(options.defaultExcludes ?? DEFAULT_EXCLUDES), AttributeStack.empty);
  return { files, skipped };
}

/** How long the scan asks the file system in one go before it lets the event loop turn. */
const YIELD_EVERY_MS = 20;

/**
 * Like `scanFiles`, for a few known paths (a save, a rename): applies the same rules by reading
 * only the ignore files on each path's ancestors, so the cost does not grow with the tree.
 * Paths that no longer exist are simply absent from the result.
 */
export async function scanPaths(root: string, relPaths: readonly string[], options: ScanOptions = {}): Promise<ScanResult> {
  const maxBytes = options.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
  const include = options.include?.length ? picomatch(options.include as string[], { dot: true }) : undefined;
  const exclude = options.exclude?.length ? picomatch(options.exclude as string[], { dot: true }) : undefined;
  const rootReal = await fs.realpath(root);
  const stacks = new Map<string, { rules: IgnoreStack; attributes: AttributeStack }>();
  const stackFor = async (dirRel: string): Promise<{ rules: IgnoreStack; attributes: AttributeStack } | undefined> => {
    const cached = stacks.get(dirRel);
    if (cached) return cached;
    let parent: { rules: IgnoreStack; attributes: AttributeStack } | undefined;
    if (dirRel === '') parent = { rules: IgnoreStack.root(options.defaultExcludes ?? DEFAULT_EXCLUDES), attributes: AttributeStack.empty };
    else {
      const up = dirRel.includes('/') ? dirRel.slice(0, dirRel.lastIndexOf('/')) : '';
      parent = await stackFor(up);
      if (!parent || parent.rules.ignores(`${dirRel}/`)) return undefined;
    }
    const dirAbs = path.join(rootReal, dirRel);
    const stack = { rules: parent.rules.descend(dirRel, readIgnoreFiles(dirAbs)), attributes: parent.attributes.descend(dirRel, readAttributes(dirAbs)) };
    stacks.set(dirRel, stack);
    return stack;
  };
  const files: ScannedFile[] = [];
  const skipped = new SkipReport();
  for (const rel of relPaths) {
    const dir = rel.includes('/') ? rel.slice(0, rel.lastIndexOf('/')) : '';
    const stack = await stackFor(dir);
    const name = rel.slice(dir.length ? dir.length + 1 : 0);
    if (IGNORE_FILE_NAMES.includes(name as (typeof IGNORE_FILE_NAMES)[number])) continue;
    if (!stack || stack.rules.ignores(rel)) {
      skipped.add({ path: rel, reason: 'ignored' });
      continue;
    }
    if ((include && !include(rel)) || exclude?.(rel)) {
      skipped.add({ path: rel, reason: 'excluded' });
      continue;
    }
    const abs = path.join(rootReal, rel);
    try {
      const stat = await fs.stat(abs);
      if (!stat.isFile()) continue;
      if (stat.size > maxBytes) skipped.add({ path: rel, reason: 'too-large', detail: `${stat.size} bytes > ${maxBytes}` });
      else {
        const role = stack.attributes.roleOf(rel);
        files.push({ path: rel, absPath: abs, size: stat.size, mtimeMs: stat.mtimeMs, ...(role ? { role } : {}) });
      }
    } catch (err) {
      if (errorReason(err) !== 'vanished') skipped.add({ path: rel, reason: errorReason(err), detail: errorMessage(err) });
    }
  }
  return { files, skipped };
}

function readIgnoreFiles(dirAbs: string, entries?: readonly Dirent[]): string[] {
  const contents: string[] = [];
  for (const name of IGNORE_FILE_NAMES) {
    if (entries && !entries.some((e) => e.name === name)) continue;
    try {
      contents.push(readFileSync(path.join(dirAbs, name), 'utf8'));
    } catch {
      // A missing or unreadable ignore file is treated as absent: one file too many beats a crash.
    }
  }
  return contents;
}

function readAttributes(dirAbs: string, entries?: readonly Dirent[]): string | undefined {
  if (entries && !entries.some((e) => e.name === '.gitattributes')) return undefined;
  try {
    return readFileSync(path.join(dirAbs, '.gitattributes'), 'utf8');
  } catch {
    return undefined;
  }
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
