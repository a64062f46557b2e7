import * as path from 'node:path';
import { realpathSync } from 'node:fs';

/**
 * The absolute path of `rel` inside `root`, or undefined if `rel` is absolute, contains a NUL or
 * climbs out of `root` (`../`, `a/../../b`). Kept free of `vscode` so it can be unit-tested.
 */
export function containedPath(root: string, rel: string): string | undefined {
  if (path.isAbsolute(rel) || path.win32.isAbsolute(rel) || rel.includes('\0')) return undefined;
  const abs = path.resolve(root, rel);
  const back = path.relative(root, abs);
  if (back === '' || back === '..' || back.startsWith(`..${path.sep}`) || path.isAbsolute(back)) return undefined;
  return abs;
}

/**
 * `containedPath`, and the file it names, once symbolic links are followed, still inside `root`:
 * a link in the workspace to `/etc` does not let a webview open `/etc/passwd`. Undefined for a
 * path that does not exist.
 */
export function containedRealPath(root: string, rel: string): string | undefined {
  const abs = containedPath(root, rel);
  if (!abs) return undefined;
  try {
    const real = realpathSync(abs);
    const realRoot = realpathSync(root);
    return real === realRoot || containedPath(realRoot, path.relative(realRoot, real)) ? abs : undefined;
  } catch {
    return undefined;
  }
}
