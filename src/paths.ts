import { createHash } from 'node:crypto';
import * as os from 'node:os';
import * as path from 'node:path';

/** The per-user cache folder, following each platform's convention. */
export function userCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env['NEARBY_CACHE_DIR']) return env['NEARBY_CACHE_DIR'];
  if (process.platform === 'win32') return path.join(env['LOCALAPPDATA'] ?? path.join(os.homedir(), 'AppData', 'Local'), 'nearby');
  if (process.platform === 'darwin') return path.join(os.homedir(), 'Library', 'Caches', 'nearby');
  return path.join(env['XDG_CACHE_HOME'] ?? path.join(os.homedir(), '.cache'), 'nearby');
}

/** Index folder for a root when none is given: readable name plus a hash of the full path. */
export function defaultIndexDir(root: string, cacheDir = userCacheDir()): string {
  const abs = path.resolve(root);
  const hash = createHash('sha256').update(abs).digest('hex').slice(0, 12);
  return path.join(cacheDir, 'indexes', `${path.basename(abs) || 'root'}-${hash}`);
}

/** Threads for inference: leave one core to the editor and the rest of the machine. */
export function defaultThreads(): number {
  return Math.max(1, os.availableParallelism() - 1);
}
