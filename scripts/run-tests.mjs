// Runs the test suites with Node's own test runner (TypeScript through tsx).
// Usage: node scripts/run-tests.mjs [unit|integration|all] (default: all)
import { spawnSync } from 'node:child_process';
import { readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';

const suites = { unit: ['test/unit'], integration: ['test/integration'], all: ['test/unit', 'test/integration'] };
const which = process.argv[2] ?? 'all';
if (!suites[which]) {
  console.error(`unknown suite "${which}"; expected one of: ${Object.keys(suites).join(', ')}`);
  process.exit(2);
}

const files = suites[which].flatMap((dir) =>
  existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.test.ts')).sort().map((f) => join(dir, f)) : [],
);
if (files.length === 0) {
  console.error('no test files found');
  process.exit(1);
}
// One file at a time: several load the real model and the machine has two cores.
// A test that hangs fails after ten minutes instead of holding CI until its own limit.
// NEARBY_* variables of the calling shell (a model folder, a cache) would change what the tests
// test; only the crash test's own knob passes through.
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('NEARBY_') || k === 'NEARBY_CRASH_RUNS'));
const result = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-timeout=600000', ...files], {
  stdio: 'inherit',
  env,
});
process.exit(result.status ?? 1);
