import { cpSync, mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FIXTURE_REPO } from './paths';

/** A fresh folder per test, filled from a `{relativePath: contents}` map, removed by `dispose`. */
export function tempTree(files: Record<string, string | Buffer> = {}): { root: string; write(rel: string, data: string | Buffer): string; dispose(): void } {
  const root = mkdtempSync(path.join(os.tmpdir(), 'nearby-test-'));
  const write = (rel: string, data: string | Buffer) => {
    const abs = path.join(root, rel);
    mkdirSync(path.dirname(abs), { recursive: true });
    writeFileSync(abs, data);
    return abs;
  };
  for (const [rel, data] of Object.entries(files)) write(rel, data);
  return { root, write, dispose: () => rmSync(root, { recursive: true, force: true }) };
}

/** A fresh folder holding a copy of the fixture repository at `<dir>/repo`, with room beside it for an index. */
export function fixtureCopy(prefix: string): { dir: string; root: string } {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  const root = path.join(dir, 'repo');
  cpSync(FIXTURE_REPO, root, { recursive: true });
  return { dir, root };
}
