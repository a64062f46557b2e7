import * as path from 'node:path';

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
