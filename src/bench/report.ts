import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** Prints the store benchmark as a table, with Nearby/Vectra ratios where both ran. */
export function printStoreTable(rows: Record<string, unknown>[]): void {
  const keys = ['insert_ms', 'load_ms', 'query_p50_ms', 'query_p95_ms', 'keyword_p50_ms', 'keyword_p95_ms', 'hybrid_p50_ms', 'hybrid_p95_ms', 'update_ms', 'disk_bytes', 'keyword_disk_bytes', 'rss_mb'] as const;
  const out: string[] = [];
  for (const row of rows) {
    out.push(`n = ${row['n']} (${row['dimension']}-d)`);
    out.push(`  ${'metric'.padEnd(14)}${'nearby'.padStart(14)}${'vectra'.padStart(14)}${'vectra/nearby'.padStart(15)}`);
    const nearby = row['nearby'] as Record<string, number | string>;
    const vectra = row['vectra'] as Record<string, number | string>;
    for (const k of keys) {
      const a = nearby?.[k];
      const b = vectra?.[k];
      const ratio = typeof a === 'number' && typeof b === 'number' && a > 0 ? `${(b / a).toFixed(1)}x` : '';
      out.push(`  ${k.padEnd(14)}${String(a ?? '-').padStart(14)}${String(b ?? '-').padStart(14)}${ratio.padStart(15)}`);
    }
    for (const [name, r] of [['nearby', nearby], ['vectra', vectra]] as const) if (r?.['error']) out.push(`  ${name} failed: ${r['error']}`);
  }
  process.stdout.write(`${out.join('\n')}\n`);
}

export function median(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** The checkout measured (with "+changes" when it had uncommitted ones), when run from one. */
export function sourceCommit(): string | null {
  try {
    const git = (...args: string[]) => execFileSync('git', args, { cwd: __dirname, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    return git('rev-parse', '--short', 'HEAD') + (git('status', '--porcelain', '--untracked-files=no') ? '+changes' : '');
  } catch {
    return null;
  }
}

/** A process's peak resident memory so far (VmHWM), in MB. */
export function peakRssMb(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : Number.NaN;
}
