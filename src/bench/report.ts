/** Prints the store benchmark as a table, with Nearby/Vectra ratios where both ran. */
export function printStoreTable(rows: Record<string, unknown>[]): void {
  const keys = ['insert_ms', 'load_ms', 'query_p50_ms', 'query_p95_ms', 'update_ms', 'disk_bytes', 'rss_mb'] as const;
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
