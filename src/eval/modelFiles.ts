import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import type { Calibration } from '../core/search/calibration';

/** Puts a calibration into a model folder's nearby.json and brings its SHA256SUMS up to date. */
export async function writeCalibration(modelDir: string, calibration: Calibration): Promise<void> {
  const file = path.join(modelDir, 'nearby.json');
  const info = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  info['calibration'] = calibration;
  writeFileSync(file, `${JSON.stringify(info, null, 1)}\n`);
  writeChecksums(modelDir);
}

/** `SHA256SUMS` of every file in a model folder, as `sha256sum` writes it. */
export function writeChecksums(modelDir: string): void {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const full = path.join(dir, name);
      if (statSync(full).isDirectory()) walk(full);
      else if (name !== 'SHA256SUMS') files.push(full);
    }
  };
  walk(modelDir);
  const lines = files.map((f) => `${createHash('sha256').update(readFileSync(f)).digest('hex')}  ${path.relative(modelDir, f).split(path.sep).join('/')}`);
  writeFileSync(path.join(modelDir, 'SHA256SUMS'), `${lines.join('\n')}\n`);
}
