/**
 * `npm run test:reliability`: tries to break Nearby (kills, I/O faults, bad input, concurrent
 * writers, hostile webview messages, load) and prints one table. Exits non-zero if any row has a
 * failure. Rows can be picked by name: `... run.ts crashes bad-input`.
 * NEARBY_RELIABILITY_KILLS sets the number of kills (default 100).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { PROJECT_ROOT } from '../helpers/paths';
import { badInputRow, badStateRow } from './badInput';
import { concurrencyRow } from './concurrency';
import { crashRow } from './crashes';
import type { Row } from './harness';
import { ioFaultRow } from './ioFaults';
import { loadRow } from './load';
import { messageRow } from './messages';

const ROWS: Record<string, () => Promise<Row>> = {
  crashes: () => crashRow(Number(process.env['NEARBY_RELIABILITY_KILLS'] ?? 100)),
  'io-faults': ioFaultRow,
  'bad-input': badInputRow,
  'bad-state': badStateRow,
  concurrency: concurrencyRow,
  messages: messageRow,
  load: loadRow,
};

function printTable(rows: { row: Row; seconds: number }[]): void {
  const lines = ['| area | what is checked | tried | failures | figures | seconds |', '|---|---|---:|---:|---|---:|'];
  for (const { row, seconds } of rows) {
    const figures = Object.entries(row.figures ?? {}).map(([k, v]) => `${k}: ${v}`).join('; ');
    lines.push(`| ${row.area} | ${row.check} | ${row.tried} | ${row.failures.length} | ${figures} | ${seconds.toFixed(0)} |`);
  }
  process.stdout.write(`\n${lines.join('\n')}\n`);
  for (const { row } of rows) for (const f of row.failures) process.stdout.write(`FAIL ${row.area}: ${f}\n`);
}

async function main(): Promise<number> {
  const asked = process.argv.slice(2);
  const unknown = asked.filter((a) => !(a in ROWS));
  if (unknown.length > 0) {
    process.stderr.write(`unknown rows: ${unknown.join(', ')}; rows are ${Object.keys(ROWS).join(', ')}\n`);
    return 2;
  }
  const results: { row: Row; seconds: number }[] = [];
  for (const name of asked.length > 0 ? asked : Object.keys(ROWS)) {
    const t0 = Date.now();
    process.stdout.write(`reliability: ${name}...\n`);
    let result: Row;
    let timer: NodeJS.Timeout | undefined;
    // A row that hangs fails on its own instead of holding CI; its workers die with this process.
    const limitMin = name === 'crashes' ? 40 : 15;
    const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`did not finish within ${limitMin} minutes`)), limitMin * 60_000)));
    try {
      result = await Promise.race([ROWS[name]!(), timeout]);
    } catch (err) {
      result = { area: name, check: 'the row itself', tried: 0, failures: [`the row threw: ${(err as Error).stack ?? String(err)}`] };
    }
    clearTimeout(timer);
    const seconds = (Date.now() - t0) / 1000;
    results.push({ row: result, seconds });
    process.stdout.write(`reliability: ${name}: ${result.tried} tried, ${result.failures.length} failures (${seconds.toFixed(0)} s)\n`);
  }
  printTable(results);
  // The report is of the whole suite; a run of some rows leaves it alone.
  if (asked.length === 0) {
    const report = path.join(PROJECT_ROOT, 'reports', 'reliability.json');
    mkdirSync(path.dirname(report), { recursive: true });
    writeFileSync(report, `${JSON.stringify({ date: new Date().toISOString(), rows: results.map(({ row, seconds }) => ({ ...row, seconds })) }, null, 2)}\n`);
  }
  return results.some(({ row }) => row.failures.length > 0 || row.tried === 0) ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
